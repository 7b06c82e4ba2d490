import type { NodeConfig } from '../config/schema.js';
import { Engine, type NodeInfo } from '../docker/index.js';
import { IgluError } from '../errors.js';
import { waitFor } from '../util/wait.js';

/** A node engine listed in iglu.yaml, with its swarm node ID once joined. */
export interface FarmNode {
  engine: Engine;
  config: NodeConfig;
  nodeId: string;
  joined: boolean;
}

/**
 * Joins the engines listed in iglu.yaml that are not in the swarm yet, as workers, and
 * waits until the manager sees every one of them Ready.
 * @throws IgluError when an endpoint does not answer, an engine is in another swarm, or a
 *   node is not Ready within `timeoutMs`
 */
export async function joinNodes(manager: Engine, nodes: NodeConfig[], timeoutMs: number): Promise<FarmNode[]> {
  if (nodes.length === 0) return [];
  // the join token only when an engine has to join: an unchanged farm reads, never joins
  let join: ReturnType<Engine['swarm']['workerJoin']> | undefined;
  let listed: NodeInfo[] | undefined = await manager.nodes.list();
  const known = new Set(listed.map((n) => n.id));
  const result = await Promise.all(
    nodes.map(async (config): Promise<FarmNode> => {
      const engine = new Engine(config.endpoint);
      const info = await engine.info().catch((err: unknown) => {
        throw new IgluError(`farm.nodes: node endpoint ${config.endpoint} does not answer`, {
          hint: 'check the endpoint in iglu.yaml and that its dockerd runs',
          cause: err,
        });
      });
      if (info.swarm.state === 'active') {
        if (!known.has(info.swarm.nodeId)) {
          throw new IgluError(`farm.nodes: the engine at ${config.endpoint} is in another swarm`, {
            hint: `make it leave (docker -H ${config.endpoint} swarm leave --force) or remove it from iglu.yaml`,
          });
        }
        return { engine, config, nodeId: info.swarm.nodeId, joined: false };
      }
      const listen = `${config.advertiseAddr ?? '0.0.0.0'}:2377`;
      const { token, managerAddr } = await (join ??= manager.swarm.workerJoin());
      await engine.swarm.join({ remoteAddr: managerAddr, token, advertiseAddr: config.advertiseAddr, listenAddr: listen });
      return { engine, config, nodeId: (await engine.info()).swarm.nodeId, joined: true };
    }),
  );
  let last: NodeInfo[] = [];
  await waitFor(
    async () => {
      // the first look reuses the listing above when no engine joined since
      last = (result.every((n) => !n.joined) && listed) || (await manager.nodes.list());
      listed = undefined;
      const ready = new Set(last.filter((n) => n.state === 'ready').map((n) => n.id));
      return result.every((n) => ready.has(n.nodeId)) ? true : undefined;
    },
    {
      timeoutMs,
      what: 'the farm nodes to be Ready',
      hint: 'check that the nodes reach the manager on TCP 2377, 7946 and UDP 4789',
      lastState: () => last.map((n) => `${n.hostname}: ${n.state}`).join(', '),
    },
  );
  return result;
}
