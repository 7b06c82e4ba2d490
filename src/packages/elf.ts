import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** What `inspectElf` reads from an ELF file. */
export interface ElfInfo {
  /** "exec" (ET_EXEC), "dyn" (ET_DYN: PIE or shared object), or another e_type number. */
  type: string;
  /** PT_INTERP's path (the dynamic loader), absent in a static binary. */
  interpreter?: string;
  /** Linked without a dynamic loader (no PT_INTERP). */
  static: boolean;
  /**
   * The C library its text identifies: "glibc" when it names GLIBC symbol versions or the
   * GNU C Library, "musl" when it uses musl's loader or holds musl's strerror(0) text
   * "No error information", else "unknown".
   */
  libc: 'musl' | 'glibc' | 'unknown';
  /** DT_NEEDED entries: the shared libraries it asks the loader for, in order. */
  needed: string[];
  /** DT_SONAME: the name a shared library is asked for by. */
  soname?: string;
}

/**
 * Reads a 64-bit little-endian ELF file's type and program headers (elf(5): e_type at 16,
 * e_phoff at 32, e_phentsize at 54, e_phnum at 56; PT_INTERP = 3), and from PT_DYNAMIC
 * (2) its DT_NEEDED (1) and DT_SONAME (14) strings, found in DT_STRTAB (5, an address
 * mapped to the file through the PT_LOAD (1) segments). Pure.
 * @returns undefined when `bytes` is not a 64-bit little-endian ELF file
 */
export function inspectElf(bytes: Buffer): ElfInfo | undefined {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2 || bytes[5] !== 1) return undefined;
  const eType = bytes.readUInt16LE(16);
  const phoff = Number(bytes.readBigUInt64LE(32));
  const phentsize = bytes.readUInt16LE(54);
  const phnum = bytes.readUInt16LE(56);
  let interpreter: string | undefined;
  let dynamic: { off: number; size: number } | undefined;
  const loads: { off: number; vaddr: number; size: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > bytes.length) return undefined;
    const pType = bytes.readUInt32LE(at);
    const off = Number(bytes.readBigUInt64LE(at + 8));
    const size = Number(bytes.readBigUInt64LE(at + 32));
    if (pType === 3) interpreter = cString(bytes, off, off + size);
    else if (pType === 2) dynamic = { off, size };
    else if (pType === 1) loads.push({ off, vaddr: Number(bytes.readBigUInt64LE(at + 16)), size });
  }
  const { needed, soname } = dynamic ? dynamicStrings(bytes, dynamic, loads) : { needed: [] };
  const type = eType === 2 ? 'exec' : eType === 3 ? 'dyn' : String(eType);
  const glibc = bytes.includes('GLIBC_2.') || bytes.includes('GNU C Library') || interpreter?.includes('ld-linux');
  const musl = interpreter?.includes('ld-musl') || bytes.includes('No error information');
  return { type, interpreter, static: interpreter === undefined, libc: glibc ? 'glibc' : musl ? 'musl' : 'unknown', needed, ...(soname ? { soname } : {}) };
}

/** A NUL-terminated string at `off` (never past `end` or the buffer). */
function cString(bytes: Buffer, off: number, end = bytes.length): string {
  const stop = Math.min(end, bytes.length);
  const nul = bytes.indexOf(0, off);
  return bytes.subarray(off, nul < 0 || nul > stop ? stop : nul).toString('latin1');
}

/** DT_NEEDED and DT_SONAME of a PT_DYNAMIC segment (Elf64_Dyn: d_tag, d_val; 16 bytes each, DT_NULL ends). */
function dynamicStrings(
  bytes: Buffer,
  dynamic: { off: number; size: number },
  loads: { off: number; vaddr: number; size: number }[],
): { needed: string[]; soname?: string } {
  const entries: [number, number][] = [];
  for (let at = dynamic.off; at + 16 <= Math.min(dynamic.off + dynamic.size, bytes.length); at += 16) {
    const tag = Number(bytes.readBigInt64LE(at));
    if (tag === 0) break;
    entries.push([tag, Number(bytes.readBigUInt64LE(at + 8))]);
  }
  const strtabAddr = entries.find(([t]) => t === 5)?.[1];
  const seg = strtabAddr === undefined ? undefined : loads.find((l) => strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.size);
  if (strtabAddr === undefined || !seg) return { needed: [] };
  const strtab = seg.off + (strtabAddr - seg.vaddr);
  const str = (v: number) => cString(bytes, strtab + v);
  const soname = entries.find(([t]) => t === 14);
  return { needed: entries.filter(([t]) => t === 1).map(([, v]) => str(v)), ...(soname ? { soname: str(soname[1]) } : {}) };
}

/**
 * Every regular file below `dir` that is a 64-bit little-endian ELF file, with what
 * inspectElf reads from it; only files starting with the ELF magic (0x7f 'E' 'L' 'F') are
 * read whole. Links are not followed (readdir's entries, lstat semantics).
 * @returns the files as paths relative to `dir`, in readdir's order
 */
export async function elfFilesBelow(dir: string): Promise<{ rel: string; info: ElfInfo }[]> {
  const found: { rel: string; info: ElfInfo }[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    const fh = await open(file, 'r');
    const head = Buffer.alloc(4);
    try {
      if ((await fh.read(head, 0, 4, 0)).bytesRead < 4 || head.readUInt32BE(0) !== 0x7f454c46) continue;
    } finally {
      await fh.close();
    }
    const info = inspectElf(await readFile(file));
    if (info) found.push({ rel: path.relative(dir, file), info });
  }
  return found;
}
