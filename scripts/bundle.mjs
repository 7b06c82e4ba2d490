// Bundles the CLI (src/bin.ts and what it loads) into dist/bin/ with esbuild: one file per
// lazily loaded part (code splitting), so a command loads only its own code and starting
// iglu does not resolve and read hundreds of modules one by one. Source maps point at
// src/. tsc still type-checks and compiles dist/src/ (the tests import it, and the fetch
// sandbox runs dist/src/sources/shim.js).
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

/**
 * dockerode loads gRPC and protobuf for BuildKit image builds alone (lib/session.js at its
 * top, lib/buildkit.js inside buildImage's progress): iglu builds no image through the
 * Engine's builder, yet they were 1.3 of the 2 MB that every Engine command parses at
 * start. They are bundled as a stub that throws when touched, so a future use fails loudly.
 */
const BUILDKIT_ONLY = /^(@grpc\/grpc-js|@grpc\/proto-loader|protobufjs)$/;
const withoutBuildKit = {
  name: 'without-buildkit',
  setup(b) {
    b.onResolve({ filter: BUILDKIT_ONLY }, (args) => ({ path: args.path, namespace: 'buildkit-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'buildkit-stub' }, (args) => ({
      contents: `module.exports = new Proxy({}, { get(_, key) { throw new Error(${JSON.stringify('iglu: ')} + ${JSON.stringify(args.path)} + ' (' + String(key) + ') is not in the bundle: dockerode needs it only for BuildKit builds'); } });`,
      loader: 'js',
    }));
  },
};

/**
 * ssh2 (docker-modem's transport for ssh:// endpoints; iglu supports them) is about a
 * third of what an Engine command loads, yet docker-modem needs it only when it opens an
 * ssh connection: the bundle carries a stand-in whose Client loads the real package from
 * node_modules when the first one is made (docker-modem's lib/ssh.js: `new Client()`).
 */
const lazySsh2 = {
  name: 'lazy-ssh2',
  setup(b) {
    b.onResolve({ filter: /^ssh2$/ }, (args) => (args.namespace === 'lazy-ssh2' ? undefined : { path: 'ssh2', namespace: 'lazy-ssh2' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-ssh2' }, () => ({
      contents: [
        "const name = 'ssh2';",
        'module.exports = { Client: function Client(...args) { const Real = require(name).Client; return new Real(...args); } };',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

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
  plugins: [withoutBuildKit, lazySsh2],
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
