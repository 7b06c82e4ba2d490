/** Default Docker endpoint when neither a flag, iglu.yaml nor DOCKER_HOST names one. */
export const DEFAULT_ENDPOINT = 'unix:///var/run/docker.sock';

/**
 * Resolves which Docker endpoint to use: the explicit one (flag or iglu.yaml), else
 * DOCKER_HOST (as the docker CLI does), else the local socket.
 */
export function resolveEndpoint(explicit: string | undefined, env = process.env): string {
  return explicit ?? (env.DOCKER_HOST || DEFAULT_ENDPOINT);
}
