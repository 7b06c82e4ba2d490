import { createHash, randomBytes } from 'node:crypto';
import { IgluError, ExitCode } from '../errors.js';
import { SCOPES, type Scope } from './task.js';
import type { TaskDb, TokenRow } from './task-db.js';

/** Token names as `serve token add` takes them. */
const TOKEN_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Names no token may have: `queue` is how the queue directory's tasks are shown. */
const RESERVED = ['queue'];

/** sha256 (hex) of a token's secret: what the database keeps. Pure. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * Makes a token and stores only its hash, with a new id (16 random hex digits) that owns
 * the tasks it creates: a token added later under a revoked token's name owns none of them.
 * @returns the secret (`iglu_` and 43 base64url characters: 256 random bits), shown once
 * @throws IgluError (usage) for a bad or reserved name or scope, or a name in use
 */
export function addToken(db: TaskDb, name: string, scope: string): string {
  if (!TOKEN_NAME.test(name))
    throw new IgluError(`bad token name "${name}"`, { hint: 'lower-case letters, digits, . _ - (up to 64)', exitCode: ExitCode.usage });
  if (RESERVED.includes(name))
    throw new IgluError(`the token name "${name}" is reserved`, {
      hint: 'the queue directory\'s tasks are shown as owned by "queue": pick another name (e.g. queue-ci)',
      exitCode: ExitCode.usage,
    });
  if (!SCOPES.includes(scope as Scope)) throw new IgluError(`bad scope "${scope}"`, { hint: `one of ${SCOPES.join(', ')}`, exitCode: ExitCode.usage });
  const secret = `iglu_${randomBytes(32).toString('base64url')}`;
  db.addToken({ name, id: randomBytes(8).toString('hex'), hash: hashToken(secret), scope: scope as Scope, createdAt: new Date().toISOString() });
  return secret;
}

/** The token a secret names, or undefined (unknown, revoked, empty). */
export function findToken(db: TaskDb, secret: string | undefined): TokenRow | undefined {
  return secret ? db.tokenByHash(hashToken(secret)) : undefined;
}

/** Whether `scope` may do what `needs` names: admin ⊇ submit ⊇ read. Pure. */
export function scopeAllows(scope: Scope, needs: Scope): boolean {
  return SCOPES.indexOf(scope) >= SCOPES.indexOf(needs);
}

/** Whether a token sees (and, with submit, changes) a task of `ownerId` (Task.ownerId): admin and read see all, submit its own. Pure. */
export function seesTask(token: Pick<TokenRow, 'id' | 'scope'>, ownerId: string): boolean {
  return token.scope !== 'submit' || token.id === ownerId;
}
