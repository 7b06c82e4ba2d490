/** HTTP status of a dockerode error (docker-modem sets `statusCode`), or undefined. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The Engine's own message from a dockerode error (`json.message`), else its message. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string; reason?: string } | null;
  return e?.json?.message ?? e?.message ?? String(err);
}

/**
 * Runs a remove/stop call and treats "already gone" (404) and "not modified" (304) as
 * done, as testcontainers does: teardown is idempotent.
 * @returns true when this call removed it, false when it was already gone
 */
export async function idempotent(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    const status = statusOf(err);
    if (status === 404 || status === 304) return false;
    throw err;
  }
}
