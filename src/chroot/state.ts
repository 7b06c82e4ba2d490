import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { IgluError } from '../errors.js';

const ProcessSchema = z.object({ pid: z.int().positive(), start: z.int().nonnegative() });

const MountSchema = z.object({ type: z.string(), source: z.string(), target: z.string(), options: z.string() });

/** A command running in the build root: who started it and what it mounted. */
export const SessionSchema = z.object({
  /** The iglu process that started it. */
  owner: ProcessSchema,
  /** unshare(1), the holder of the namespaces (absent while in a container). */
  holder: ProcessSchema.optional(),
  /** The container it runs in with --farm (Docker ID). */
  container: z.string().optional(),
  /** What runs, for messages. */
  command: z.string(),
  /** Absolute path of the build root. */
  root: z.string(),
  /** Every mount made for it, in the order made (see mounts.ts). */
  mounts: z.array(MountSchema),
  startedAt: z.string(),
});

/** A package installed into the build root's sysroot. */
export const InstalledSchema = z.object({
  version: z.string(),
  tarballSha256: z.string(),
  /** The identity dependents record (see packages/inputs.ts). */
  identity: z.string(),
});

/** chroot/state.json. */
export const StateSchema = z.object({
  version: z.literal(1),
  base: z
    .object({
      kind: z.enum(['image', 'tarball']),
      /** Image reference or tarball path as given. */
      ref: z.string(),
      /** Image ID, or the tarball's sha256. */
      id: z.string(),
      preparedAt: z.string(),
    })
    .optional(),
  installed: z.record(z.string(), InstalledSchema).default({}),
  sessions: z.array(SessionSchema).default([]),
});

export type ChrootState = z.infer<typeof StateSchema>;
export type Session = z.infer<typeof SessionSchema>;

/** An empty state: nothing prepared, installed or running. */
export const EMPTY_STATE: ChrootState = { version: 1, installed: {}, sessions: [] };

/**
 * Reads chroot/state.json; an absent file is the empty state.
 * @throws IgluError naming the file and the field when it is not a valid state
 */
export async function readState(file: string): Promise<ChrootState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return structuredClone(EMPTY_STATE);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new IgluError(`${file}: not JSON (${(err as Error).message})`, { hint: 'if no iglu runs, delete the chroot directory and run iglu chroot prepare again' });
  }
  const parsed = StateSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new IgluError(`${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`, { hint: 'if no iglu runs, delete the chroot directory and run iglu chroot prepare again' });
  }
  return parsed.data;
}

/** Writes the state atomically (temporary file, then rename(2)). */
export async function writeState(file: string, state: ChrootState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, file);
}

/** Reads, changes and writes the state (the caller holds the work directory's lock). */
export async function updateState(file: string, change: (s: ChrootState) => void): Promise<ChrootState> {
  const state = await readState(file);
  change(state);
  await writeState(file, state);
  return state;
}
