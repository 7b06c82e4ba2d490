import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** Kernel options that matter to the farm, and why. */
export const KERNEL_FEATURES = {
  IP_VS: 'service VIPs and the ingress routing mesh (iglu uses dnsrr and needs none)',
  INET_ESP: 'encrypted overlay networks (IPsec ESP)',
  VXLAN: 'overlay networks between nodes',
  OVERLAY_FS: "Docker's overlay2 storage driver",
  BRIDGE: 'container networking',
  VETH: 'container networking',
} as const;

export type KernelFeature = keyof typeof KERNEL_FEATURES;

/**
 * Parses a kernel .config text into option → "y" | "m" (unset options are absent). Pure.
 */
export function parseKernelConfig(text: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const m of text.matchAll(/^CONFIG_([A-Z0-9_]+)=(.*)$/gm)) options.set(m[1]!, m[2]!);
  return options;
}

/**
 * The running kernel's config from /proc/config.gz (CONFIG_IKCONFIG_PROC), or undefined
 * when the kernel does not expose it.
 */
export async function runningKernelConfig(file = '/proc/config.gz'): Promise<Map<string, string> | undefined> {
  try {
    return parseKernelConfig(gunzipSync(await readFile(file)).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Whether `option` is built in or a module; undefined when the config is unknown. */
export function hasFeature(config: Map<string, string> | undefined, option: string): boolean | undefined {
  if (!config) return undefined;
  const v = config.get(option);
  return v === 'y' || v === 'm';
}
