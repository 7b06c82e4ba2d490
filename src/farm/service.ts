import type { Engine, ServiceSpec } from '../docker/index.js';
import { LABEL } from '../labels.js';

/**
 * Creates the service, or updates it when its iglu.spec hash differs from the desired
 * one; leaves it alone when equal (a second `farm up` changes nothing).
 * @param spec an Engine API ServiceSpec carrying the iglu.spec label (distccdServiceSpec)
 */
export async function ensureService(engine: Engine, spec: ServiceSpec): Promise<'created' | 'updated' | 'unchanged'> {
  const name = spec.Name;
  const want = (spec.Labels as Record<string, string>)[LABEL.spec];
  const current = await engine.services.get(name);
  if (!current) {
    await engine.services.create(spec);
    return 'created';
  }
  if (current.labels[LABEL.spec] === want) return 'unchanged';
  await engine.services.update(current.id, current.version, spec);
  return 'updated';
}
