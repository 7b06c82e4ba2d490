import { access } from 'node:fs/promises';

/** Whether a path exists (fs.access with F_OK); never throws. */
export async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
