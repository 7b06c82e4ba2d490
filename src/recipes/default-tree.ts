import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The recipe tree iglu ships (`tree/` in the repository), used when --tree is not given. */
export const DEFAULT_TREE = path.resolve(fileURLToPath(new URL('../../../tree', import.meta.url)));
