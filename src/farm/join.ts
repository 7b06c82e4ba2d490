import { engineMessage, type Engine } from '../docker/index.js';
import { IgluError } from '../errors.js';

/** The worker join command for this swarm (its --json shape of `farm token`). */
export interface JoinToken {
  token: string;
  managerAddr: string;
  command: string;
}

/**
 * The worker join token and the command another machine runs to join.
 * @throws IgluError when the engine is not a swarm manager
 */
export async function joinToken(engine: Engine): Promise<JoinToken> {
  const info = await engine.info();
  if (info.swarm.state !== 'active' || !info.swarm.isManager) {
    throw new IgluError(`the engine at ${engine.endpoint} is not a swarm manager`, { hint: 'run "iglu farm up" first' });
  }
  const { token, managerAddr } = await engine.swarm.workerJoin();
  return { token, managerAddr, command: `iglu farm join --token ${token} ${managerAddr}` };
}

/**
 * Joins the local engine to a swarm as a worker.
 * @param manager the manager's address, HOST or HOST:PORT (port 2377 by default)
 * @throws IgluError when the engine is already in a swarm or the manager refuses
 */
export async function joinSwarm(engine: Engine, opts: { token: string; manager: string; advertiseAddr?: string }): Promise<{ nodeId: string }> {
  const info = await engine.info();
  if (info.swarm.state !== 'inactive') {
    throw new IgluError(`the engine at ${engine.endpoint} is already in a swarm`, { hint: 'leave it first: iglu farm down --leave' });
  }
  if (!/^SWMTKN-1-/.test(opts.token)) {
    throw new IgluError('the join token must start with SWMTKN-1-', { hint: 'copy it from "iglu farm token" on the manager' });
  }
  const remoteAddr = opts.manager.includes(':') ? opts.manager : `${opts.manager}:2377`;
  try {
    await engine.swarm.join({ remoteAddr, token: opts.token, advertiseAddr: opts.advertiseAddr, listenAddr: `${opts.advertiseAddr ?? '0.0.0.0'}:2377` });
  } catch (err) {
    throw new IgluError(`joining the swarm at ${remoteAddr} failed: ${engineMessage(err)}`, {
      hint: 'check the token and that the manager is reachable on TCP 2377',
      cause: err,
    });
  }
  return { nodeId: (await engine.info()).swarm.nodeId };
}
