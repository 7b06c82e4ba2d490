import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingInLog, undeclaredProviders, undeclaredSentence } from '../../src/pipeline/undeclared.js';

const LOG = [
  "main.c:3:10: fatal error: 'zlib.h' file not found",
  "tls.c:1:10: fatal error: 'openssl/ssl.h' file not found",
  'x.c:1:10: fatal error: curses.h: No such file or directory',
  "main.c:3:10: fatal error: 'zlib.h' file not found",
  'ld.lld: error: unable to find library -ledit',
  'cc: error: linker command failed with exit code 1',
].join('\n');

const pkg = (name: string, version: string, paths: string[]) => ({ name, version, files: paths.map((p) => ({ path: p, size: 1, type: 'file', mode: 0o644 })) });
const built = [
  pkg('zlib', '1.2.13', ['usr/include/zlib.h', 'usr/lib/libz.so', 'usr/lib/libz.a']),
  pkg('libressl', '3.6.1', ['usr/include/openssl/ssl.h', 'usr/lib/libssl.so']),
  pkg('netbsd-curses', '0.3.2', ['usr/include/curses.h', 'usr/lib/libcurses.so']),
  pkg('libedit', '20221030', ['usr/include/histedit.h', 'usr/lib/libedit.a']),
];

test('missingInLog: clang and GCC headers, lld libraries, each once in order', () => {
  assert.deepEqual(missingInLog(LOG), { headers: ['zlib.h', 'openssl/ssl.h', 'curses.h'], libraries: ['edit'] });
  assert.deepEqual(missingInLog('make: *** [all] Error 2\n'), { headers: [], libraries: [] });
});

test('undeclaredProviders: the built package holding each missing file; declared packages are left out', () => {
  assert.deepEqual(undeclaredProviders(missingInLog(LOG), built, ['netbsd-curses']), [
    { missing: 'zlib.h', pkg: 'zlib', version: '1.2.13' },
    { missing: 'openssl/ssl.h', pkg: 'libressl', version: '3.6.1' },
    { missing: '-ledit', pkg: 'libedit', version: '20221030' },
  ]);
  assert.deepEqual(undeclaredProviders({ headers: ['nosuch.h'], libraries: ['nosuch'] }, built, []), [], 'nothing built has them');
});

test('undeclaredSentence: what is where, and what to add to which recipe', () => {
  const s = undeclaredSentence('base/mandoc/build.sh', [
    { missing: 'zlib.h', pkg: 'zlib', version: '1.2.13' },
    { missing: '-lz', pkg: 'zlib', version: '1.2.13' },
  ]);
  assert.equal(
    s,
    "zlib.h is in zlib 1.2.13, -lz is in zlib 1.2.13, which base/mandoc/build.sh does not declare: add zlib to its mkdeps (or deps), since a build's sysroot holds only what its recipe declares (or, leaving the recipe as it is, list them under chroot.mkdeps in iglu.yaml; or, for a tree of real recipes, set chroot.sysroot: planned, and each package sees all the plan builds before it)",
  );
});

test("missingInLog: a configure script's checks that came out no (AC_CHECK_LIB, AC_CHECK_HEADER)", () => {
  const log = [
    'checking for tgetent in -lncurses... no',
    'checking for tgetent in -lcurses... no',
    'checking for tgetent in -ltinfo... yes',
    'checking curses.h usability... no',
    'checking for term.h... no',
    'checking for stdio.h... yes',
    'configure: error: libcurses or libtermcap not found',
  ].join('\n');
  assert.deepEqual(missingInLog(log), { headers: ['curses.h', 'term.h'], libraries: ['ncurses', 'curses'] });
  const built = [{ name: 'netbsd-curses', version: '0.3.2', files: [{ path: 'usr/lib/libcurses.so' }, { path: 'usr/include/term.h' }] }];
  assert.deepEqual(
    undeclaredProviders(missingInLog(log), built as never, []).map((f) => `${f.missing} ${f.pkg}`),
    ['-lcurses netbsd-curses', 'term.h netbsd-curses'],
  );
});
