import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { QEMU_DIR } from '../layout/in-root.js';
import { z } from 'zod';
import { parseYamlFile } from '../config/load.js';
import { IgluError } from '../errors.js';

/** The machine definitions iglu boots with unless boot.machines names another file. */
export const DEFAULT_MACHINES = path.join(QEMU_DIR, 'machines.yaml');

const Machine = z.strictObject({
  /** -machine TYPE (qemu-system-x86_64 -machine help lists them). */
  machine: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]*$/, 'a QEMU machine type such as pc or q35')
    .default('pc'),
  /** -bios FILE: the UEFI firmware (efi only). */
  firmware: z.string().startsWith('/', 'an absolute path').optional(),
  /** -m, MiB. */
  memoryMiB: z.int().min(32).default(256),
  /** -smp. */
  cpus: z.int().min(1).max(64).default(1),
  /** One -device each. */
  devices: z.array(z.string().regex(/^[a-z0-9][a-z0-9_.-]*(,[^\s]*)?$/, 'a QEMU -device spec such as virtio-rng-pci')).default([]),
});

const Machines = z.strictObject({
  efi: Machine.refine((m) => m.firmware !== undefined, { message: 'needs firmware (the OVMF file for -bios)', path: ['firmware'] }),
  direct: Machine,
});

/** One machine definition (qemu/machines.yaml). */
export type MachineDef = z.infer<typeof Machine>;

/** Both machine definitions, by firmware. */
export type MachineDefs = z.infer<typeof Machines>;

/**
 * Parses machine definitions (the text of qemu/machines.yaml). Pure.
 * @param file named in errors
 * @throws IgluError naming the file, the line and the field and what to do (parseYamlFile)
 */
export function parseMachines(text: string, file: string): MachineDefs {
  return parseYamlFile(Machines, text, file, `compare with ${DEFAULT_MACHINES}; qemu-system-x86_64(1) gives each option`);
}

/**
 * Reads machine definitions from `file` (boot.machines), or iglu's qemu/machines.yaml.
 * @throws IgluError for a file that cannot be read, with the path; see parseMachines
 */
export async function loadMachines(file: string | undefined): Promise<MachineDefs> {
  const at = file ?? DEFAULT_MACHINES;
  let text: string;
  try {
    text = await readFile(at, 'utf8');
  } catch (err) {
    throw new IgluError(`cannot read the machine definitions ${at}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: `boot.machines in iglu.yaml names a file like ${DEFAULT_MACHINES}`,
    });
  }
  return parseMachines(text, at);
}
