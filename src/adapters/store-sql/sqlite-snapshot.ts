import BetterSqlite3 from 'better-sqlite3'

/** Pages SQLite copies per step: small steps let a serving Keyward write in between. */
const PAGES_PER_STEP = 256

/** Progress of a snapshot: pages copied of the database's pages. */
export interface SnapshotProgress {
  readonly copiedPages: number
  readonly totalPages: number
}

/**
 * A consistent copy of the SQLite database at `source` into `destination` (a new file) while
 * other connections keep reading and writing: SQLite's online backup API (SQLite docs, "Online
 * Backup API"; better-sqlite3 `Database#backup`). The copy is one snapshot; a step that finds
 * the source changed by another connection restarts the copy, so a busy server delays it but
 * cannot make it inconsistent. The source is opened read-only and must exist.
 *
 * @example
 *   await snapshotSqlite('/root/.keyward/keyward.db', '/root/.keyward/snapshot.tmp', {
 *     onProgress: ({ copiedPages, totalPages }) => console.error(copiedPages, totalPages),
 *   })
 */
export async function snapshotSqlite(
  source: string,
  destination: string,
  options: { onProgress?: (progress: SnapshotProgress) => void } = {},
): Promise<SnapshotProgress> {
  let database: BetterSqlite3.Database
  try {
    database = new BetterSqlite3(source, { readonly: true, fileMustExist: true, timeout: 5_000 })
  } catch (error) {
    throw new Error(`${source}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
  try {
    const done = await database.backup(destination, {
      progress: ({ totalPages, remainingPages }) => {
        options.onProgress?.({ copiedPages: totalPages - remainingPages, totalPages })
        return PAGES_PER_STEP
      },
    })
    return { copiedPages: done.totalPages - done.remainingPages, totalPages: done.totalPages }
  } finally {
    database.close()
  }
}

/**
 * The root key fingerprint a private copy of the database records (a snapshot being backed
 * up, a restored file before it is put in place), after SQLite's quick integrity check. The
 * copy is switched out of WAL mode first, so that reading it leaves no -wal or -shm file
 * beside it; the server turns WAL on again when it opens the database.
 *
 * @throws Error when the file is not a sound SQLite database, or is in the middle of a root key
 *   rotation (its values are wrapped under two keys)
 * @example
 *   readRecordedFingerprint('/root/.keyward/keyward.db.restoring') // 'a1b2…'
 */
export function readRecordedFingerprint(path: string): string | undefined {
  const database = new BetterSqlite3(path, { fileMustExist: true })
  try {
    database.pragma('journal_mode = DELETE')
    const check = database.pragma('quick_check', { simple: true })
    if (check !== 'ok') throw new Error(`${path}: the database is damaged (${String(check)})`)
    const setting = (name: string) =>
      (
        database.prepare('SELECT value FROM keyward_settings WHERE name = ?').get(name) as
          { value: string } | undefined
      )?.value
    // Mid-rotation, values are wrapped under two root keys: no single key could restore it.
    if (setting('root_key_rotation') !== undefined) {
      throw new Error(
        `${path}: a root key rotation is in progress; finish it ('keyward root-key rotate') first.`,
      )
    }
    return setting('root_key_fingerprint')
  } finally {
    database.close()
  }
}
