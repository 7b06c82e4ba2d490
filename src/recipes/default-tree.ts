import path from 'node:path';
import { PACKAGE_ROOT } from '../layout/package-root.js';

/** The recipe tree iglu ships (`tree/` in the repository), used when --tree is not given. */
export const DEFAULT_TREE = path.join(PACKAGE_ROOT, 'tree');
