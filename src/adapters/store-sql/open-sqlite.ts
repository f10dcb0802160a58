import BetterSqlite3 from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { KyselyKeyStore } from './kysely-key-store.js'
import type { Database } from './schema.js'

/**
 * Opens (creating if needed) the embedded SQLite database at `path` (':memory:' for tests).
 *
 * Durability: WAL with synchronous=FULL fsyncs the WAL on every commit, so a write the client
 * saw acknowledged survives `kill -9` and power loss (SQLite docs, "PRAGMA synchronous").
 */
export async function openSqliteKeyStore(path: string): Promise<KyselyKeyStore> {
  const database = new BetterSqlite3(path)
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = FULL')
  database.pragma('busy_timeout = 5000')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) })
  return KyselyKeyStore.open(db)
}
