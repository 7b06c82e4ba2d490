// Bundles the CLI (src/bin.ts and what it loads) into dist/bin/ with esbuild: one file per
// lazily loaded part (code splitting), so a command loads only its own code and starting
// iglu does not resolve and read hundreds of modules one by one. Source maps point at
// src/. tsc still type-checks and compiles dist/src/ (the tests import it, and the fetch
// sandbox runs dist/src/sources/shim.js).
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

await rm('dist/bin', { recursive: true, force: true });
await build({
  entryPoints: { iglu: 'src/bin.ts' },
  outdir: 'dist/bin',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // ssh2's optional native parts: absent here, and required inside try/catch;
  // better-sqlite3 finds its compiled addon from its own package directory (bindings)
  external: ['cpu-features', '*.node', 'better-sqlite3'],
  // CommonJS dependencies (dockerode and its own) call require() for Node's modules, and
  // ssh2 names a Windows helper by __dirname when it loads (never run here)
  banner: {
    js: [
      "import { createRequire as __igluCreateRequire } from 'node:module';",
      "import { fileURLToPath as __igluFileURLToPath } from 'node:url';",
      'const require = __igluCreateRequire(import.meta.url);',
      'const __filename = __igluFileURLToPath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' '),
  },
  logLevel: 'warning',
});
