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
}

/**
 * Reads a 64-bit little-endian ELF file's type and program headers (elf(5): e_type at 16,
 * e_phoff at 32, e_phentsize at 54, e_phnum at 56; PT_INTERP = 3). Pure.
 * @returns undefined when `bytes` is not a 64-bit little-endian ELF file
 */
export function inspectElf(bytes: Buffer): ElfInfo | undefined {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2 || bytes[5] !== 1) return undefined;
  const eType = bytes.readUInt16LE(16);
  const phoff = Number(bytes.readBigUInt64LE(32));
  const phentsize = bytes.readUInt16LE(54);
  const phnum = bytes.readUInt16LE(56);
  let interpreter: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > bytes.length) return undefined;
    if (bytes.readUInt32LE(at) === 3) {
      const off = Number(bytes.readBigUInt64LE(at + 8));
      const size = Number(bytes.readBigUInt64LE(at + 32));
      interpreter = bytes.subarray(off, off + size).toString('latin1').replace(/\0.*$/s, '');
    }
  }
  const type = eType === 2 ? 'exec' : eType === 3 ? 'dyn' : String(eType);
  const glibc = bytes.includes('GLIBC_2.') || bytes.includes('GNU C Library') || interpreter?.includes('ld-linux');
  const musl = interpreter?.includes('ld-musl') || bytes.includes('No error information');
  return { type, interpreter, static: interpreter === undefined, libc: glibc ? 'glibc' : musl ? 'musl' : 'unknown' };
}
