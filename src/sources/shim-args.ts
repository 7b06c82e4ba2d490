/**
 * What a `curl`, `wget` or `git` command line in a recipe's fetch() asks for, read
 * without running anything. Pure.
 */
export type ShimRequest =
  | { kind: 'download'; tool: 'curl' | 'wget'; urls: { url: string; output: string }[] }
  | { kind: 'passthrough'; tool: 'git' }
  | { kind: 'unsupported'; tool: string; reason: string };

/** curl options that take a value (curl(1)); the rest are flags. */
const CURL_VALUE = new Set([
  '-o',
  '--output',
  '-H',
  '--header',
  '-A',
  '--user-agent',
  '-e',
  '--referer',
  '-m',
  '--max-time',
  '--connect-timeout',
  '--retry',
  '--retry-delay',
  '--retry-max-time',
  '-u',
  '--user',
  '-x',
  '--proxy',
  '-w',
  '--write-out',
  '-r',
  '--range',
  '-C',
  '--continue-at',
  '-z',
  '--time-cond',
  '--cacert',
  '--capath',
  '-E',
  '--cert',
  '-b',
  '--cookie',
  '-c',
  '--cookie-jar',
  '-d',
  '--data',
  '-X',
  '--request',
  '--limit-rate',
  '-Y',
  '-y',
]);
const CURL_SHORT_VALUE = new Set('oHAemuxwrCzEbcdXYy'.split(''));
/** wget options that take a separate value (wget(1)). */
const WGET_VALUE = new Set([
  '-O',
  '--output-document',
  '-P',
  '--directory-prefix',
  '-t',
  '--tries',
  '-T',
  '--timeout',
  '-U',
  '--user-agent',
  '--header',
  '-o',
  '--output-file',
  '-a',
  '--append-output',
]);
/** git subcommands that reach the network. */
const GIT_NETWORK = new Set(['clone', 'fetch', 'pull', 'ls-remote', 'submodule', 'remote']);

/** The last path segment of a URL, as `curl -O` and wget name their output. */
export function remoteName(url: string): string {
  const name = new URL(url).pathname.split('/').filter(Boolean).pop();
  return name ? decodeURIComponent(name) : 'index.html';
}

/**
 * Reads a curl command line: URLs, and for each its output (`-o FILE`, `-O`, or stdout).
 * Grouped short flags (`-fsSLo FILE`, `-LO`) are understood.
 */
export function parseCurl(args: string[]): ShimRequest {
  const line: CurlLine = { urls: [], outputs: [], remoteAll: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) i = curlLongOption(line, args, i);
    else if (a.startsWith('-') && a.length > 1) i = curlShortFlags(line, args, i);
    else line.urls.push(a);
  }
  const { urls, outputs, remoteAll } = line;
  if (urls.length === 0) return { kind: 'unsupported', tool: 'curl', reason: 'no URL on the command line' };
  return {
    kind: 'download',
    tool: 'curl',
    urls: urls.map((url, k) => {
      const out = outputs[k];
      if (out === undefined) return { url, output: remoteAll ? remoteName(url) : '-' };
      return { url, output: typeof out === 'string' ? out : remoteName(url) };
    }),
  };
}

/** What a curl command line asks for, as it is read: URLs, outputs in order (a file, or the URL's own name), --remote-name-all. */
interface CurlLine {
  urls: string[];
  outputs: (string | { remote: true })[];
  remoteAll: boolean;
}

/** Reads the long option at `args[i]` into `line`. @returns the index of the last argument it used. Pure but for `line`. */
function curlLongOption(line: CurlLine, args: string[], i: number): number {
  const a = args[i]!;
  if (a === '--remote-name') line.outputs.push({ remote: true });
  else if (a === '--remote-name-all') line.remoteAll = true;
  else if (a === '--output') line.outputs.push(args[++i] ?? '-');
  else if (a.startsWith('--output=')) line.outputs.push(a.slice(9));
  else if (a.startsWith('--url=')) line.urls.push(a.slice(6));
  else if (a === '--url') line.urls.push(args[++i] ?? '');
  else if (CURL_VALUE.has(a)) i++;
  return i;
}

/** Reads a group of short flags at `args[i]` (`-fsSLo FILE`, `-LO`) into `line`. @returns the index of the last argument it used. */
function curlShortFlags(line: CurlLine, args: string[], i: number): number {
  const a = args[i]!;
  for (let j = 1; j < a.length; j++) {
    const c = a[j]!;
    if (c === 'O') {
      line.outputs.push({ remote: true });
      continue;
    }
    if (CURL_SHORT_VALUE.has(c)) {
      const value = j + 1 < a.length ? a.slice(j + 1) : args[++i];
      if (c === 'o') line.outputs.push(value ?? '-');
      break;
    }
  }
  return i;
}

/** Reads a wget command line: URLs and `-O FILE` (one file for all) or `-P DIR`. */
export function parseWget(args: string[]): ShimRequest {
  const urls: string[] = [];
  let document: string | undefined;
  let prefix = '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-O' || a === '--output-document') {
      document = args[++i];
      continue;
    }
    if (a.startsWith('--output-document=')) {
      document = a.slice(18);
      continue;
    }
    if (a.startsWith('-O') && a.length > 2) {
      document = a.slice(2);
      continue;
    }
    if (a === '-P' || a === '--directory-prefix') {
      prefix = args[++i] ?? '';
      continue;
    }
    if (a.startsWith('--directory-prefix=')) {
      prefix = a.slice(19);
      continue;
    }
    if (a.startsWith('-')) {
      if (WGET_VALUE.has(a)) i++;
      continue;
    }
    urls.push(a);
  }
  if (urls.length === 0) return { kind: 'unsupported', tool: 'wget', reason: 'no URL on the command line' };
  if (document !== undefined && urls.length > 1 && document !== '-')
    return { kind: 'unsupported', tool: 'wget', reason: '-O with several URLs concatenates them; fetch one URL per command' };
  return {
    kind: 'download',
    tool: 'wget',
    urls: urls.map((url) => ({ url, output: document ?? (prefix ? `${prefix}/${remoteName(url)}` : remoteName(url)) })),
  };
}

/** git: local subcommands (apply, am, init…) run the real git; network ones are refused. */
export function parseGit(args: string[]): ShimRequest {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i += args[i] === '-C' || args[i] === '-c' ? 2 : 1;
  const sub = args[i];
  if (sub && GIT_NETWORK.has(sub)) {
    return {
      kind: 'unsupported',
      tool: 'git',
      reason: `\`git ${sub}\` needs the network, and iglu's source cache holds files, not repositories: fetch a release tarball with curl instead`,
    };
  }
  return { kind: 'passthrough', tool: 'git' };
}

/** Dispatches on the tool name the shim was called as. */
export function parseShim(tool: string, args: string[]): ShimRequest {
  if (tool === 'curl') return parseCurl(args);
  if (tool === 'wget') return parseWget(args);
  if (tool === 'git') return parseGit(args);
  return { kind: 'unsupported', tool, reason: 'not a tool iglu answers' };
}
