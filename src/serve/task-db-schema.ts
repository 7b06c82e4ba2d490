import type Database from 'better-sqlite3';

/** The tables as a new database gets them (an older one is brought here by migrate). */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  owner_id TEXT,
  state TEXT NOT NULL,
  created_at TEXT NOT NULL,
  queued_at TEXT,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state);
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY,
  id TEXT,
  hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  created_at TEXT NOT NULL
);
`;

/** The schema version this code writes (PRAGMA user_version). */
const VERSION = 1;

/**
 * Brings a database made by an older iglu to VERSION, in one transaction:
 * 0 → 1: tasks were owned by their token's name, so a token added later under a revoked
 * name took over the old one's tasks, and a token named `queue` owned the queue
 * directory's. Every token gets an id (16 random hex digits); every task the id of the
 * token that still has its owner's name, `queue` (QUEUE_OWNER_ID) when it came from the
 * queue directory (it has a bundle name: the API never sets one), else `gone:<name>`,
 * which no token has, so nobody inherits it.
 */
export function migrate(db: Database.Database): void {
  if ((db.pragma('user_version', { simple: true }) as number) >= VERSION) return;
  const has = (table: string, column: string) => (db.pragma(`table_info(${table})`) as { name: string }[]).some((c) => c.name === column);
  db.transaction(() => {
    if (!has('tokens', 'id')) db.exec('ALTER TABLE tokens ADD COLUMN id TEXT');
    if (!has('tasks', 'owner_id')) db.exec('ALTER TABLE tasks ADD COLUMN owner_id TEXT');
    db.exec(`
UPDATE tokens SET id = lower(hex(randomblob(8))) WHERE id IS NULL;
UPDATE tasks SET owner_id = CASE
  WHEN owner = 'queue' AND json_extract(body, '$.bundle.name') IS NOT NULL THEN 'queue'
  ELSE coalesce((SELECT tokens.id FROM tokens WHERE tokens.name = tasks.owner), 'gone:' || owner)
END WHERE owner_id IS NULL;
UPDATE tasks SET body = json_set(body, '$.ownerId', owner_id) WHERE json_extract(body, '$.ownerId') IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS tokens_id ON tokens(id);
CREATE INDEX IF NOT EXISTS tasks_owner_id ON tasks(owner_id);
`);
    db.pragma(`user_version = ${VERSION}`);
  })();
}
