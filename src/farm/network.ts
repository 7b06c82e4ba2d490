import type { FarmConfig } from '../config/schema.js';
import type { Engine, NetworkInfo } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { hasFeature } from '../host/kernel.js';
import { LABEL, labelsFor } from '../labels.js';
import { waitFor } from '../util/wait.js';
import { STACK_NAMESPACE_LABEL } from './stack.js';

/**
 * Refuses an encrypted overlay where the kernel lacks CONFIG_INET_ESP: the Engine would
 * create it, and traffic between nodes would silently die.
 * @param kernel the kernel config (runningKernelConfig); undefined when unknown (allowed)
 * @throws IgluError with what to change
 */
export function refuseEncryption(farm: FarmConfig, kernel: Map<string, string> | undefined): void {
  if (farm.encrypted && hasFeature(kernel, 'INET_ESP') === false) {
    throw new IgluError('an encrypted overlay needs IPsec ESP, and this kernel has no CONFIG_INET_ESP', {
      hint: 'set farm.encrypted: false in iglu.yaml (traffic between nodes then travels unencrypted), or use a kernel with CONFIG_INET_ESP',
    });
  }
}

/**
 * Makes sure the farm's attachable overlay network exists, creating it when missing.
 * @throws IgluError when a network of that name exists that is not this farm's
 *   attachable overlay
 */
export async function ensureNetwork(engine: Engine, farm: FarmConfig): Promise<{ network: NetworkInfo; created: boolean }> {
  const existing = await engine.networks.get(farm.network);
  if (existing) {
    if (existing.driver !== 'overlay' || !existing.attachable) {
      throw new IgluError(`network ${farm.network} exists but is not an attachable overlay (driver ${existing.driver})`, {
        hint: 'pick another name with --network',
      });
    }
    if (existing.labels[LABEL.farm] !== farm.name) {
      throw new IgluError(`network ${farm.network} exists and is not iglu farm "${farm.name}"'s`, { hint: 'pick another name with --network' });
    }
    return { network: await withSubnet(engine, existing), created: false };
  }
  // the stack's namespace too, so `docker stack rm <farm>` removes it with the service
  const network = await engine.networks.createOverlay(farm.network, labelsFor('network', farm.name, { [STACK_NAMESPACE_LABEL]: farm.name }), farm.encrypted);
  return { network: await withSubnet(engine, network), created: true };
}

/**
 * The network once the swarm has allocated its subnet. Right after creation the Engine
 * sometimes answers an inspect with no IPAM config yet (seen 1 in 6 on a fresh swarm);
 * distccd's --allow must be that subnet, never empty (distccd would then allow every
 * private address).
 * @throws IgluError when no subnet appears within 10 s
 */
async function withSubnet(engine: Engine, network: NetworkInfo): Promise<NetworkInfo> {
  if (network.subnets.length) return network;
  return waitFor(
    async () => {
      const now = await engine.networks.get(network.name);
      return now?.subnets.length ? now : undefined;
    },
    { timeoutMs: 10_000, what: `a subnet for network ${network.name}`, hint: 'check the swarm default address pool (farm.addrPool)' },
  );
}
