import type { FarmConfig } from '../config/schema.js';
import type { Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { defaultAdvertiseAddr } from '../host/address.js';

/**
 * Makes sure the manager engine is a swarm manager: initialises a swarm when it is in
 * none (explicit advertise/listen address and default address pool, which cannot change
 * later), uses an existing swarm as it is.
 * @returns "initialised" or "existing"
 * @throws IgluError when the engine is a worker, or its swarm is locked or in error
 */
export async function ensureSwarm(engine: Engine, farm: FarmConfig): Promise<'initialised' | 'existing'> {
  const info = await engine.info();
  if (info.swarm.state === 'active') {
    if (!info.swarm.isManager) {
      throw new IgluError(`the engine at ${engine.endpoint} is a swarm worker, not a manager`, {
        hint: 'run iglu on a manager node, or point --docker-host at one',
      });
    }
    return 'existing';
  }
  if (info.swarm.state !== 'inactive') {
    throw new IgluError(`the engine at ${engine.endpoint} is in swarm state "${info.swarm.state}"`, {
      hint: 'unlock or repair it (docker swarm unlock / docker swarm leave --force) and retry',
    });
  }
  const addr = farm.advertiseAddr ?? (await defaultAdvertiseAddr());
  if (!addr) throw new IgluError('no address to advertise the swarm on', { hint: 'pass --advertise-addr ADDR' });
  await engine.swarm.init({ advertiseAddr: addr, listenAddr: `${addr}:2377`, addrPool: [farm.addrPool], subnetSize: farm.addrPoolMaskLength });
  return 'initialised';
}
