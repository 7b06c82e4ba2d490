// Runs Node's test runner (`node --test ARGS…`) with TMPDIR set to a directory of this run,
// removed when the run ends, so the work directories, stores and packages the suites make
// (about 1 GiB a full run) never pile up in /tmp. The directory is kept, and named, when a
// mount is still under it (a test that failed to release one): removing it would descend
// into the mount. Exits with the runner's exit code.
//
//   node scripts/test.mjs --test-concurrency=1 dist/test/unit/ …
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = mkdtempSync(path.join(tmpdir(), 'iglu-tests-'));
// the sandbox uid and the engines reach paths below it, as they do below /tmp
chmodSync(root, 0o755);
const child = spawn(process.execPath, ['--test', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, TMPDIR: root } });
// Ctrl-C reaches the runner too (same process group): wait for it, then clean up
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));

const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .map((line) => line.split(' ')[4] ?? '')
  .filter((point) => point === root || point.startsWith(`${root}/`));
if (mounted.length) process.stderr.write(`scripts/test.mjs: kept ${root}: still mounted under it: ${mounted.join(' ')}\n`);
else rmSync(root, { recursive: true, force: true });
process.exit(code);
