/** One source package version as `apt-cache showsrc` prints it: its files by name and sha256. */
export interface SourceVersion {
  package: string;
  version: string;
  /** File name to its sha256 (the Checksums-Sha256 field). */
  files: Map<string, string>;
}

/**
 * Parses `apt-cache showsrc` output: deb822 paragraphs (deb822(5)) separated by blank
 * lines, of which it reads Package, Version and the continuation lines of
 * Checksums-Sha256 ("SHA256 SIZE NAME", dsc(5)). A version listed by two indexes (the
 * main archive and a mirror) appears once. Pure.
 */
export function parseShowsrc(text: string): SourceVersion[] {
  const out: SourceVersion[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    let pkg = '';
    let version = '';
    const files = new Map<string, string>();
    let field = '';
    for (const line of paragraph.split('\n')) {
      const start = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (start) {
        field = start[1]!.toLowerCase();
        if (field === 'package') pkg = start[2]!.trim();
        if (field === 'version') version = start[2]!.trim();
        continue;
      }
      const sum = /^\s+([0-9a-f]{64})\s+\d+\s+(\S+)\s*$/.exec(line);
      if (field === 'checksums-sha256' && sum) files.set(sum[2]!, sum[1]!);
    }
    if (pkg && version && !out.some((v) => v.package === pkg && v.version === version)) out.push({ package: pkg, version, files });
  }
  return out;
}

/**
 * The `apt-get source` arguments (`PACKAGE=VERSION`) of every version of `pkg` whose
 * source carries every one of `files` with its sha256, in the order apt lists them.
 * Several Debian revisions share one orig tarball, and any of them can stand in for it:
 * when one cannot be fetched (a security update whose archive does not hold the orig),
 * the next one may. Pure.
 */
export function versionsCarrying(index: SourceVersion[], pkg: string, files: { file: string; sha256: string }[]): string[] {
  return index.filter((v) => v.package === pkg && files.every((f) => v.files.get(f.file) === f.sha256)).map((v) => `${pkg}=${v.version}`);
}
