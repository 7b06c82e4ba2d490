import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { IgluError } from '../errors.js';
import type { Scope, Task, TaskState } from './task.js';

/** A token as stored: its name, the sha256 of the secret (never the secret), scope and creation time. */
export interface TokenRow {
  name: string;
  hash: string;
  scope: Scope;
  createdAt: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at TEXT NOT NULL,
  queued_at TEXT,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state);
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  created_at TEXT NOT NULL
);
`;

/**
 * The build service's tasks and tokens in SQLite (better-sqlite3, synchronous: one
 * statement is one transaction, WAL mode so readers never wait on the writer). A task is
 * one row whose `body` is the Task as JSON, with its id, owner, state and times as
 * columns for queries. Every change is committed when the call returns, so a kill -9 of
 * the service loses nothing it answered.
 */
export class TaskDb {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  /** Opens (creating) the database file. @throws IgluError when it cannot be opened */
  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
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
  create(fields: Pick<Task, 'owner' | 'branch' | 'priority'>): Task {
    const task: Task = { id: randomBytes(6).toString('hex'), ...fields, state: 'new', createdAt: new Date().toISOString(), packages: [] };
    this.db
      .prepare('INSERT INTO tasks (id, owner, state, created_at, body) VALUES (?, ?, ?, ?, ?)')
      .run(task.id, task.owner, task.state, task.createdAt, JSON.stringify(task));
    return task;
  }

  get(id: string): Task | undefined {
    const row = this.sql('SELECT body FROM tasks WHERE id = ?').get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Task) : undefined;
  }

  /** Tasks, newest first; only `owner`'s when given, only those in `states` when given. */
  list(o: { owner?: string; states?: TaskState[]; limit?: number } = {}): Task[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (o.owner !== undefined) {
      where.push('owner = ?');
      args.push(o.owner);
    }
    if (o.states?.length) {
      where.push(`state IN (${o.states.map(() => '?').join(',')})`);
      args.push(...o.states);
    }
    const sql = `SELECT body FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`;
    return (this.sql(sql).all(...args, o.limit ?? 1000) as { body: string }[]).map((r) => JSON.parse(r.body) as Task);
  }

  /** When each owner's last task started (ISO time), for fair share; owners whose tasks never started are absent. */
  lastStarts(): Map<string, string> {
    const rows = this.sql("SELECT owner, MAX(json_extract(body, '$.startedAt')) AS at FROM tasks GROUP BY owner HAVING at IS NOT NULL").all() as {
      owner: string;
      at: string;
    }[];
    return new Map(rows.map((r) => [r.owner, r.at]));
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
      this.sql('INSERT INTO tokens (name, hash, scope, created_at) VALUES (?, ?, ?, ?)').run(row.name, row.hash, row.scope, row.createdAt);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
        throw new IgluError(`a token named ${row.name} exists`, { hint: `revoke it first (iglu serve token revoke ${row.name}) or pick another name` });
      throw err;
    }
  }

  tokens(): TokenRow[] {
    return this.sql('SELECT name, hash, scope, created_at AS createdAt FROM tokens ORDER BY name').all() as TokenRow[];
  }

  tokenByHash(hash: string): TokenRow | undefined {
    return this.sql('SELECT name, hash, scope, created_at AS createdAt FROM tokens WHERE hash = ?').get(hash) as TokenRow | undefined;
  }

  /** @returns whether a token of that name was there */
  revokeToken(name: string): boolean {
    return this.sql('DELETE FROM tokens WHERE name = ?').run(name).changes > 0;
  }
}
