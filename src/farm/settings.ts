import type { FarmConfig } from '../config/schema.js';
import { IgluError, ExitCode } from '../errors.js';
import { STACK_SERVICE, type FarmStack } from './stack.js';

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
      hint: 'use "iglu farm down" to remove the farm',
      exitCode: ExitCode.usage,
    });
  }
  if (flags.replicas !== undefined && flags.global) {
    throw new IgluError('--replicas and --global exclude each other', { hint: 'pick one', exitCode: ExitCode.usage });
  }
  return {
    ...config,
    replicas: flags.replicas ?? config.replicas,
    global: flags.global ?? (flags.replicas !== undefined ? false : config.global),
    modeSet: config.modeSet || flags.global !== undefined || flags.replicas !== undefined,
    image: flags.image ?? config.image,
    network: flags.network ?? config.network,
    advertiseAddr: flags.advertiseAddr ?? config.advertiseAddr,
  };
}

/** The distccd service's name for a farm: `<stack>_<service>`, as `docker stack deploy` names it (the farm's name is the stack's). */
export function serviceName(farm: Pick<FarmConfig, 'name'>): string {
  return `${farm.name}_${STACK_SERVICE}`;
}

/**
 * The farm with its mode decided: iglu.yaml's or the flags' when they chose one
 * (farm.modeSet), else the stack file's deploy.mode, else global. Pure.
 */
export function withStackMode(farm: FarmConfig, stack: Pick<FarmStack, 'mode'>): FarmConfig {
  if (farm.modeSet || !stack.mode) return farm;
  return 'global' in stack.mode ? { ...farm, global: true, modeSet: true } : { ...farm, global: false, replicas: stack.mode.replicas, modeSet: true };
}
