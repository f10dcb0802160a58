import BetterSqlite3 from 'better-sqlite3'
import { Kysely } from 'kysely'
import { ImmediateSqliteDialect } from './immediate-sqlite-dialect.js'
import { KyselyKeyStore, type StoreOptions } from './kysely-key-store.js'
import type { Database } from './schema.js'

/**
 * Opens (creating if needed) the embedded SQLite database at `path` (':memory:' for tests).
 *
 * Durability: WAL with synchronous=FULL fsyncs the WAL on every commit, so a write the client
 * saw acknowledged survives `kill -9` and power loss (SQLite docs, "PRAGMA synchronous").
 */
export async function openSqliteKeyStore(
  path: string,
  options: Pick<StoreOptions, 'guardTransactions'> & {
    /** Other processes write to the same file (`--workers`): watch their commits. */
    readonly sharedWithOtherProcesses?: boolean
  } = {},
): Promise<KyselyKeyStore> {
  const database = new BetterSqlite3(path)
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = FULL')
  database.pragma('busy_timeout = 5000')
  // Write transactions take the write lock first: with several processes on one file, a
  // deferred BEGIN that reads then writes fails with SQLITE_BUSY_SNAPSHOT (see the dialect).
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) })
  // PRAGMA data_version changes when another connection (another worker process) commits,
  // never for this connection's own commits; it reads shared memory, about a microsecond
  // (SQLite docs, "PRAGMA data_version").
  const dataVersion = database.prepare('PRAGMA data_version').pluck()
  return KyselyKeyStore.open(db, {
    ...(options.guardTransactions ? { guardTransactions: true } : {}),
    // Only where another process can write: the check costs a statement per request.
    ...(options.sharedWithOtherProcesses
      ? { commitsByOthers: () => dataVersion.get() as number }
      : {}),
  })
}
