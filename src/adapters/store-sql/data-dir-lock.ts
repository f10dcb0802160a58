import BetterSqlite3 from 'better-sqlite3'
import { join } from 'node:path'

/** The lock file in a data directory: a small SQLite database of its own. */
export const LOCK_FILE = 'keyward.lock'

/** An exclusive hold on a data directory; released by {@link DataDirLock.release} or by death. */
export interface DataDirLock {
  readonly path: string
  /** Gives the directory up (clean exit). Idempotent. */
  release(): void
}

const isBusy = (error: unknown) =>
  (error as { code?: unknown }).code === 'SQLITE_BUSY' ||
  (error as { code?: unknown }).code === 'SQLITE_LOCKED'

/**
 * Takes the data directory for this process, or refuses because another Keyward server holds it.
 * Two servers over one database would each cache keys and never hear of the other's changes
 * (a key disabled by one stays usable through the other); `--workers` is the one supported way
 * to share, and its workers coordinate through SQLite's data_version.
 *
 * How: `keyward.lock` is a SQLite database in WAL mode, and the holder keeps a write
 * transaction (`BEGIN IMMEDIATE`) open for as long as it lives. That is an OS-level lock
 * (fcntl on the WAL index) which the kernel drops when the process dies, even by `kill -9`, so
 * there is no stale-pid guessing. WAL lets others still read the committed row naming the
 * holder's pid, for the refusal message. The pid is committed first and the write lock taken
 * again at once; a second server that slips into that gap takes the lock, and this one then
 * finds it held and refuses: never two holders.
 *
 * @throws Error naming the directory and the holder's pid when another process holds it
 * @example
 *   const lock = lockDataDir('/root/.keyward')
 *   process.on('exit', () => lock.release())
 */
export function lockDataDir(dir: string, options: { pid?: number } = {}): DataDirLock {
  const path = join(dir, LOCK_FILE)
  const pid = options.pid ?? process.pid
  let db: BetterSqlite3.Database
  try {
    db = new BetterSqlite3(path, { timeout: 0 })
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
  let held = false
  try {
    held = take(db, pid)
  } catch (error) {
    db.close()
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
  if (!held) {
    const holder = readHolder(db)
    db.close()
    const who =
      holder && holder.pid !== pid
        ? `pid ${holder.pid}, running since ${holder.since}`
        : 'another process'
    throw new Error(
      `The data directory ${dir} is in use by another Keyward server (${who}; lock ${path}). Two servers over one database would not see each other's changes: stop the other one first, or run one server with --workers.`,
    )
  }
  let released = false
  return {
    path,
    release: () => {
      if (released) return
      released = true
      db.exec('ROLLBACK')
      db.close()
    },
  }
}

/** True when this connection now holds the write lock with `pid` committed as the holder. */
function take(db: BetterSqlite3.Database, pid: number): boolean {
  try {
    // Switching to WAL needs a moment's exclusive access; a holder's database is WAL already.
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL')
    db.exec('BEGIN IMMEDIATE')
  } catch (error) {
    if (isBusy(error)) return false
    throw error
  }
  db.exec(
    'CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since TEXT NOT NULL)',
  )
  db.prepare('INSERT OR REPLACE INTO holder (id, pid, since) VALUES (1, ?, ?)').run(
    pid,
    new Date().toISOString(),
  )
  db.exec('COMMIT')
  try {
    db.exec('BEGIN IMMEDIATE')
    return true
  } catch (error) {
    if (isBusy(error)) return false
    throw error
  }
}

/** The committed holder row, readable under WAL while the holder keeps its write lock. */
function readHolder(db: BetterSqlite3.Database): { pid: number; since: string } | undefined {
  try {
    return db.prepare('SELECT pid, since FROM holder WHERE id = 1').get() as
      { pid: number; since: string } | undefined
  } catch {
    // No table yet: the holder is between opening the file and its first commit.
    return undefined
  }
}
