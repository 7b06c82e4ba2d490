import type { FarmConfig } from '../config/schema.js';
import { IgluError, ExitCode } from '../errors.js';

/** Flags of `farm up` / `farm scale` that override iglu.yaml's `farm:` section. */
export interface FarmFlags {
  replicas?: number;
  global?: boolean;
  image?: string;
  network?: string;
  advertiseAddr?: string;
}

/**
 * iglu.yaml's farm section with the command-line flags applied (flags win). Pure.
 * @throws IgluError (usage) for --replicas below 1 or both --replicas and --global
 */
export function farmSettings(config: FarmConfig, flags: FarmFlags): FarmConfig {
  if (flags.replicas !== undefined && (!Number.isInteger(flags.replicas) || flags.replicas < 1)) {
    throw new IgluError(`--replicas must be a whole number of at least 1, not ${flags.replicas}`, {
      hint: 'use "iglu farm down" to remove the farm', exitCode: ExitCode.usage,
    });
  }
  if (flags.replicas !== undefined && flags.global) {
    throw new IgluError('--replicas and --global exclude each other', { hint: 'pick one', exitCode: ExitCode.usage });
  }
  return {
    ...config,
    replicas: flags.replicas ?? config.replicas,
    global: flags.global ?? (flags.replicas !== undefined ? false : config.global),
    image: flags.image ?? config.image,
    network: flags.network ?? config.network,
    advertiseAddr: flags.advertiseAddr ?? config.advertiseAddr,
  };
}

/** The distccd service's name for a farm. */
export function serviceName(farm: FarmConfig): string {
  return `${farm.name}-distccd`;
}
