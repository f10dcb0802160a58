import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import type { RootKey } from '../ports/root-key.js'
import { progressLine } from './progress.js'

const BACKUP_USAGE = `Usage: keyward backup <file> [options]

Writes an encrypted, consistent snapshot of the database (<data-dir>/keyward.db) to <file>,
also while 'keyward serve' runs on it (SQLite's online backup). The file is encrypted with
AES-256-GCM under a fresh key wrapped by the root key: keep root.key (or the token of
--root-key) apart from the backups, and back up principals.json too. <file> must not exist.

Options:
  --data-dir <dir>   Data directory (KEYWARD_DATA_DIR; default ~/.keyward)
  --root-key <uri>   The PKCS#11 root key, as for serve (KEYWARD_ROOT_KEY_URI; PIN in
                     KEYWARD_ROOT_KEY_PIN); else KEYWARD_ROOT_KEY or <data-dir>/root.key
  --json             Print the result as one JSON object (progress is shown on a terminal only)
  -h, --help         Show this help
`

const RESTORE_USAGE = `Usage: keyward restore <file> [options]

Restores a backup made by 'keyward backup' into a data directory that has no database yet,
with no server running on it. The root key the backup was made under must be in place first
(<data-dir>/root.key mode 0600, KEYWARD_ROOT_KEY, or --root-key): the backup does not hold it.
The file is authenticated before the database is put in place; a changed file is refused.

Options:
  --data-dir <dir>   Data directory (KEYWARD_DATA_DIR; default ~/.keyward)
  --root-key <uri>   The PKCS#11 root key (KEYWARD_ROOT_KEY_URI; PIN in KEYWARD_ROOT_KEY_PIN)
  --json             Print the result as one JSON object
  -h, --help         Show this help
`

const DATABASE = 'keyward.db'

/** A flag's value, else the environment variable's; an empty variable counts as unset. */
const setting = (flag: string | undefined, env: string | undefined) =>
  flag ?? (env === '' ? undefined : env)

/** What both commands read from their arguments. */
function parseCommand(args: string[], env: NodeJS.ProcessEnv, usage: string) {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      'root-key': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  })
  if (values.help) return undefined
  if (positionals.length !== 1) throw new Error(`expected one <file>\n\n${usage}`)
  const rootKeyUri = setting(values['root-key'], env.KEYWARD_ROOT_KEY_URI)
  return {
    file: resolve(positionals[0]!),
    dataDir: setting(values['data-dir'], env.KEYWARD_DATA_DIR) ?? join(homedir(), '.keyward'),
    json: values.json === true,
    ...(rootKeyUri ? { rootKeyUri } : {}),
  }
}

/** The root key of the data directory, never a new one. */
async function openRootKey(options: {
  dataDir: string
  rootKeyUri?: string
  env: NodeJS.ProcessEnv
  /** Where the requirement comes from, for the message when root.key is missing. */
  neededBy: string
}): Promise<{ rootKey: RootKey; close: () => Promise<void> }> {
  if (options.rootKeyUri) {
    const { openPkcs11RootKey } = await import('../server.js')
    const { rootKey, close } = await openPkcs11RootKey(options.rootKeyUri, {
      env: options.env,
      recordedIn: options.neededBy,
    })
    return { rootKey, close }
  }
  const { loadSoftwareRootKey } = await import('../adapters/root-key/software-root-key.js')
  const { rootKey } = loadSoftwareRootKey({
    path: join(options.dataDir, 'root.key'),
    env: options.env.KEYWARD_ROOT_KEY,
    recordedIn: options.neededBy,
  })
  return { rootKey, close: async () => {} }
}

/** Makes a rename or a new file durable: fsync of the file, then of its directory. */
function syncFileAndDirectory(path: string): void {
  for (const target of [path, dirname(path)]) {
    const fd = openSync(target, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }
}

/**
 * `keyward backup <file>`.
 *
 * @example
 *   await backupCommand(['/backups/kw-2026-12-06.bak', '--data-dir', '/root/.keyward'], env)
 */
export async function backupCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const options = parseCommand(args, env, BACKUP_USAGE)
  if (!options) {
    process.stdout.write(BACKUP_USAGE)
    return 0
  }
  const database = join(options.dataDir, DATABASE)
  if (!existsSync(database)) throw new Error(`There is no database at ${database} to back up.`)
  if (existsSync(options.file)) {
    throw new Error(`${options.file} exists already; a backup never replaces a file.`)
  }
  const { snapshotSqlite, readRecordedFingerprint } =
    await import('../adapters/store-sql/sqlite-snapshot.js')
  const { encryptBackup } = await import('../adapters/backup-file/encrypted-backup.js')
  const root = await openRootKey({ ...options, env, neededBy: database })
  const progress = progressLine({ enabled: !options.json && process.stderr.isTTY === true })
  // The plain snapshot stays in the data directory, beside the database it copies, and only
  // for as long as it is encrypted; the partial backup gets its final name when complete.
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`
  const snapshot = join(options.dataDir, `.${DATABASE}.backup-${suffix}`)
  const partial = `${options.file}.partial-${suffix}`
  try {
    const createdAt = new Date()
    const pages = await snapshotSqlite(database, snapshot, {
      onProgress: ({ copiedPages, totalPages }) =>
        progress.update('snapshot', { done: copiedPages, total: totalPages, unit: 'pages' }),
    })
    // The snapshot's own record, not the live database's: that is what a restore must open.
    const recorded = readRecordedFingerprint(snapshot)
    if (recorded !== root.rootKey.fingerprint) {
      throw new Error(
        `The root key does not match the one ${database} records; refusing to write a backup nobody could restore.`,
      )
    }
    const header = await encryptBackup(snapshot, partial, {
      rootKey: root.rootKey,
      createdAt,
      onProgress: (done, total) => progress.update('encrypt', { done, total, unit: 'bytes' }),
    })
    progress.done()
    syncFileAndDirectory(partial)
    // link(2) fails when the name exists: a file created meanwhile is never replaced.
    linkSync(partial, options.file)
    syncFileAndDirectory(options.file)
    const result = {
      file: options.file,
      bytes: statSync(options.file).size,
      pages: pages.totalPages,
      createdAt: header.createdAt,
      rootKeyFingerprint: header.rootKeyFingerprint,
    }
    process.stdout.write(
      options.json
        ? JSON.stringify(result) + '\n'
        : `Backup of ${database} (${result.pages} pages, taken ${result.createdAt}) written to ${result.file} (${result.bytes} bytes), encrypted under the root key ${result.rootKeyFingerprint}. Keep root.key and principals.json backed up apart from it.\n`,
    )
    return 0
  } finally {
    progress.done()
    rmSync(snapshot, { force: true })
    rmSync(partial, { force: true })
    await root.close()
  }
}

/**
 * `keyward restore <file>`.
 *
 * @example
 *   await restoreCommand(['/backups/kw-2026-12-06.bak', '--data-dir', '/root/.keyward'], env)
 */
export async function restoreCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const options = parseCommand(args, env, RESTORE_USAGE)
  if (!options) {
    process.stdout.write(RESTORE_USAGE)
    return 0
  }
  const { readBackupHeader, decryptBackup } =
    await import('../adapters/backup-file/encrypted-backup.js')
  const header = readBackupHeader(options.file).header
  const database = join(options.dataDir, DATABASE)
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
  const { lockDataDir } = await import('../adapters/store-sql/data-dir-lock.js')
  // No server may run on the directory while its database appears.
  const lock = lockDataDir(options.dataDir)
  try {
    for (const name of [DATABASE, `${DATABASE}-wal`, `${DATABASE}-shm`]) {
      if (existsSync(join(options.dataDir, name))) {
        throw new Error(
          `${options.dataDir} already has a database (${name}); restore only into a data directory without one.`,
        )
      }
    }
    if (!options.rootKeyUri && !env.KEYWARD_ROOT_KEY) {
      const path = join(options.dataDir, 'root.key')
      if (!existsSync(path)) {
        throw new Error(
          `The root key file ${path} is missing: put the root key the backup was made under (fingerprint ${header.rootKeyFingerprint}) there first (mode 0600), or set KEYWARD_ROOT_KEY; a backup never holds its own key.`,
        )
      }
    }
    const root = await openRootKey({ ...options, env, neededBy: options.file })
    const restoring = `${database}.restoring`
    const progress = progressLine({ enabled: !options.json && process.stderr.isTTY === true })
    try {
      rmSync(restoring, { force: true })
      await decryptBackup(options.file, restoring, {
        rootKey: root.rootKey,
        onProgress: (done, total) => progress.update('decrypt', { done, total, unit: 'bytes' }),
      })
      progress.done()
      const { readRecordedFingerprint } = await import('../adapters/store-sql/sqlite-snapshot.js')
      if (readRecordedFingerprint(restoring) !== root.rootKey.fingerprint) {
        throw new Error(`${options.file} holds a database of another root key.`)
      }
      syncFileAndDirectory(restoring)
      renameSync(restoring, database)
      syncFileAndDirectory(database)
    } finally {
      progress.done()
      rmSync(restoring, { force: true })
      await root.close()
    }
    const result = {
      dataDir: options.dataDir,
      database,
      createdAt: header.createdAt,
      rootKeyFingerprint: header.rootKeyFingerprint,
    }
    process.stdout.write(
      options.json
        ? JSON.stringify(result) + '\n'
        : `Restored the backup taken ${header.createdAt} to ${database}. Put principals.json back in place before 'keyward serve' (without it a new admin key is created).\n`,
    )
    return 0
  } finally {
    lock.release()
  }
}
