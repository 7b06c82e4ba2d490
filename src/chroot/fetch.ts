import type { RunContext } from '../run-context.js';
import { fetchPackage, type FetchOutcome } from '../packages/fetch.js';
import { PackagePaths } from '../layout/package-paths.js';
import { recipeHash } from '../packages/recipe-hash.js';
import type { Step } from '../steps.js';
import type { RecipeMeta } from '../recipes/read.js';
import { SourceCache } from '../sources/cache.js';
import { abortable } from '../util/abort.js';
import { limitsFor } from '../sandbox/limits.js';

/** One package of `iglu chroot fetch` (--json). */
export interface Fetched extends FetchOutcome {
  name: string;
}

/**
 * `iglu chroot fetch` as steps: each recipe of `order` fetched on the host through the
 * source cache (packages/fetch.ts); a src/ fetched before from the same recipe is kept,
 * so a rerun does nothing; each within its package's limits (config `limits`). Results are pushed onto `into`.
 * @throws IgluError with the fetch log's tail (an offline miss or a sha256 mismatch)
 */
export function fetchSelected(ctx: RunContext, recipes: RecipeMeta[], order: string[], offline: boolean, into: Fetched[]): Step<object>[] {
  const paths = new PackagePaths(ctx.workdir);
  const cache = SourceCache.of(ctx.workdir, ctx.config.sources);
  return order.map((name) => {
    const recipe = recipes.find((r) => r.name === name)!;
    return {
      title: `${name} ${recipe.pkgver}`,
      run: async () => {
        const out = await abortable(fetchPackage(recipe, await recipeHash(recipe.file), { paths, cache, offline, signal: ctx.signal, limits: limitsFor(ctx.config.limits, name) }), ctx.signal, `fetch of ${name}`);
        into.push({ name, ...out });
        return out.reused ? 'already fetched' : `fetched ${out.sources.length} source${out.sources.length === 1 ? '' : 's'}`;
      },
    };
  });
}
