import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { IgluError } from '../errors.js';
import { FINAL_STATES, type Scope, type Task, type TaskState } from './task.js';
import { migrate, SCHEMA } from './task-db-schema.js';

/** A token as stored: its name, its id (what owns tasks), the sha256 of the secret (never the secret), scope and creation time. */
export interface TokenRow {
  name: string;
  /** 16 random hex digits, never reused: a token added later under the same name has another. */
  id: string;
  hash: string;
  scope: Scope;
  createdAt: string;
}

/**
 * The build service's tasks and tokens in SQLite (better-sqlite3, synchronous: one
 * statement is one transaction, WAL mode so readers never wait on the writer). A task is
 * one row whose `body` is the Task as JSON, with its id, owner, state and times as
 * columns for queries. Every change is committed when the call returns, so a kill -9 of
 * the service loses nothing it answered. Its directory is 0700 and the file 0600 (SQLite
 * gives -wal and -shm the database's mode): token hashes and tasks are root's alone.
 */
export class TaskDb {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  /** Opens (creating) the database file. @throws IgluError when it cannot be opened */
  constructor(file: string) {
    try {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      chmodSync(path.dirname(file), 0o700);
      closeSync(openSync(file, 'a', 0o600));
      for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
      migrate(this.db);
    } catch (err) {
      throw new IgluError(`cannot open the task database ${file}: ${(err as Error).message}`, {
        hint: 'check that the work directory is writable; better-sqlite3 is built by npm ci (it needs make and a C++ compiler)',
        cause: err,
      });
    }
  }

  close(): void {
    this.db.close();
  }

  /** A prepared statement, compiled once per database (better-sqlite3 compiles on prepare). */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) this.statements.set(text, (st = this.db.prepare(text)));
    return st;
  }

  /** Creates a task in state `new` with a fresh id. */
  create(fields: Pick<Task, 'owner' | 'ownerId' | 'branch' | 'priority'>): Task {
    const task: Task = { id: randomBytes(6).toString('hex'), ...fields, state: 'new', createdAt: new Date().toISOString(), packages: [] };
    this.sql('INSERT INTO tasks (id, owner, owner_id, state, created_at, body) VALUES (?, ?, ?, ?, ?, ?)').run(
      task.id,
      task.owner,
      task.ownerId,
      task.state,
      task.createdAt,
      JSON.stringify(task),
    );
    return task;
  }

  get(id: string): Task | undefined {
    const row = this.sql('SELECT body FROM tasks WHERE id = ?').get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Task) : undefined;
  }

  /** Tasks, newest first; only those of the owner `ownerId` (Task.ownerId) when given, only those in `states` when given. */
  list(o: { ownerId?: string; states?: TaskState[]; limit?: number } = {}): Task[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (o.ownerId !== undefined) {
      where.push('owner_id = ?');
      args.push(o.ownerId);
    }
    if (o.states?.length) {
      where.push(`state IN (${o.states.map(() => '?').join(',')})`);
      args.push(...o.states);
    }
    const sql = `SELECT body FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`;
    return (this.sql(sql).all(...args, o.limit ?? 1000) as { body: string }[]).map((r) => JSON.parse(r.body) as Task);
  }

  /** When each owner's (ownerId's) last task started (ISO time), for fair share; owners whose tasks never started are absent. */
  lastStarts(): Map<string, string> {
    const rows = this.sql(
      "SELECT owner_id AS owner, MAX(json_extract(body, '$.startedAt')) AS at FROM tasks GROUP BY owner_id HAVING at IS NOT NULL",
    ).all() as {
      owner: string;
      at: string;
    }[];
    return new Map(rows.map((r) => [r.owner, r.at]));
  }

  /**
   * What one owner holds, for serve's limits: its tasks that have not ended, and the
   * bytes its tasks keep on disk (bundles, but a cancelled task's, which is removed; and
   * the artifacts fixed at each task's end), as the database records them.
   */
  usage(ownerId: string): { open: number; bytes: number } {
    const ended = FINAL_STATES.map((s) => `'${s}'`).join(',');
    const row = this.sql(
      `SELECT COUNT(*) FILTER (WHERE state NOT IN (${ended})) AS open,
        SUM(CASE WHEN state = 'cancelled' THEN 0 ELSE coalesce(json_extract(body, '$.bundle.bytes'), 0) END
          + coalesce((SELECT SUM(json_extract(a.value, '$.bytes')) FROM json_each(body, '$.artifacts') AS a), 0)) AS bytes
       FROM tasks WHERE owner_id = ?`,
    ).get(ownerId) as { open: number; bytes: number | null };
    return { open: row.open, bytes: row.bytes ?? 0 };
  }

  /** How many tasks are in each state. */
  counts(): Partial<Record<TaskState, number>> {
    const rows = this.sql('SELECT state, COUNT(*) AS n FROM tasks GROUP BY state').all() as { state: TaskState; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  /**
   * Changes a task in one transaction: `change` gets the stored task and returns the new
   * one, or undefined to leave it (a state it may not leave, say).
   * @returns the task as stored after the call, undefined when there is none
   */
  update(id: string, change: (t: Task) => Task | undefined): Task | undefined {
    return this.db
      .transaction(() => {
        const now = this.get(id);
        if (!now) return undefined;
        const next = change(structuredClone(now));
        if (!next) return now;
        this.sql('UPDATE tasks SET state = ?, queued_at = ?, body = ? WHERE id = ?').run(next.state, next.queuedAt ?? null, JSON.stringify(next), id);
        return next;
      })
      .immediate();
  }

  /** Removes a task's row. */
  remove(id: string): void {
    this.sql('DELETE FROM tasks WHERE id = ?').run(id);
  }

  addToken(row: TokenRow): void {
    try {
      this.sql('INSERT INTO tokens (name, id, hash, scope, created_at) VALUES (?, ?, ?, ?, ?)').run(row.name, row.id, row.hash, row.scope, row.createdAt);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
        throw new IgluError(`a token named ${row.name} exists`, { hint: `revoke it first (iglu serve token revoke ${row.name}) or pick another name` });
      throw err;
    }
  }

  tokens(): TokenRow[] {
    return this.sql('SELECT name, id, hash, scope, created_at AS createdAt FROM tokens ORDER BY name').all() as TokenRow[];
  }

  tokenByHash(hash: string): TokenRow | undefined {
    return this.sql('SELECT name, id, hash, scope, created_at AS createdAt FROM tokens WHERE hash = ?').get(hash) as TokenRow | undefined;
  }

  /** @returns whether a token of that name was there */
  revokeToken(name: string): boolean {
    return this.sql('DELETE FROM tokens WHERE name = ?').run(name).changes > 0;
  }
}
