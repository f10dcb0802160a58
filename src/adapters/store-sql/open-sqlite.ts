import BetterSqlite3 from 'better-sqlite3'
import { Kysely } from 'kysely'
import { ImmediateSqliteDialect } from './immediate-sqlite-dialect.js'
import { KyselyKeyStore, type StoreOptions } from './kysely-key-store.js'
import type { Database } from './schema.js'

/**
 * Opens the file and sets it up; SQLite's own errors ("file is not a database", "unable to open
 * database file") do not say which file, so the path is put in front of them.
 */
function openDatabase(path: string): BetterSqlite3.Database {
  let database: BetterSqlite3.Database | undefined
  try {
    database = new BetterSqlite3(path)
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = FULL')
    database.pragma('busy_timeout = 5000')
    return database
  } catch (error) {
    database?.close()
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
}

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
  const database = openDatabase(path)
  // Write transactions take the write lock first: with several processes on one file, a
  // deferred BEGIN that reads then writes fails with SQLITE_BUSY_SNAPSHOT (see the dialect).
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) })
  // PRAGMA data_version changes when another connection (another worker process) commits,
  // never for this connection's own commits; it reads shared memory, about a microsecond
  // (SQLite docs, "PRAGMA data_version").
  const dataVersion = database.prepare('PRAGMA data_version').pluck()
  try {
    return await KyselyKeyStore.open(db, {
      ...(options.guardTransactions ? { guardTransactions: true } : {}),
      // Only where another process can write: the check costs a statement per request.
      ...(options.sharedWithOtherProcesses
        ? { commitsByOthers: () => dataVersion.get() as number }
        : {}),
    })
  } catch (error) {
    await db.destroy()
    const cause =
      error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ''
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}${cause}`, {
      cause: error,
    })
  }
}
