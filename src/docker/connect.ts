import Docker from 'dockerode';
import { IgluError } from '../errors.js';
export { DEFAULT_ENDPOINT, resolveEndpoint } from './endpoint.js';

/**
 * Builds dockerode options from an endpoint URL: `unix:///path`, `tcp://host:port`
 * or `ssh://user@host[:port]` (the forms DOCKER_HOST takes; see docker(1) "-H").
 * @throws IgluError for any other form
 */
export function dockerOptions(endpoint: string): Docker.DockerOptions {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (err) {
    throw badEndpoint(endpoint, err);
  }
  switch (url.protocol) {
    case 'unix:':
      return { socketPath: url.pathname };
    case 'tcp:':
      return { protocol: 'http', host: url.hostname, port: Number(url.port || 2375) };
    case 'ssh:':
      return {
        protocol: 'ssh',
        host: url.hostname,
        port: Number(url.port || 22),
        username: url.username || undefined,
        sshOptions: { agent: process.env.SSH_AUTH_SOCK },
      };
    default:
      throw badEndpoint(endpoint);
  }
}

function badEndpoint(endpoint: string, cause?: unknown): IgluError {
  return new IgluError(`unknown Docker endpoint "${endpoint}"`, {
    hint: 'use unix:///var/run/docker.sock, tcp://HOST:2375 or ssh://USER@HOST',
    cause,
  });
}

/** A dockerode client for `endpoint`. Used only inside src/docker/. */
export function dockerode(endpoint: string): Docker {
  return new Docker(dockerOptions(endpoint));
}
