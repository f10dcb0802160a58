import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { progressLine } from './progress.js'

const USAGE = `Usage: keyward root-key rotate [options]

Re-wraps every value stored under the root key (key material, custom key store secrets, the
grant and session token secrets) under a new root key, while 'keyward serve' keeps serving
on the same data directory. The new key is written to <data-dir>/root.key.next first; when
every value is re-wrapped, root.key is kept as root.key.retired-<fingerprint> and the new
key becomes root.key. Progress is recorded in the database: after a crash, run the command
again and it resumes where it stopped.

Keep the retired key for as long as you keep backups made before the rotation ('keyward
restore' needs the root key a backup was made under). Only the software root key
(<data-dir>/root.key) can be rotated this way.

Options:
  --data-dir <dir>   Data directory (KEYWARD_DATA_DIR; default ~/.keyward)
  --json             Print the result as one JSON object (progress is shown on a terminal only)
  -h, --help         Show this help
`

const NEXT = 'root.key.next'
const RETIRED = 'root.key.retired-'
/**
 * How long to wait, after the pass, before the final sweep: long enough for serving
 * processes to notice the rotation (they look every second) and wrap new values under the
 * new key, so that the sweep finds what they wrapped before.
 */
const SETTLE_MS = 2_500

/** fsync(2) of a file or directory. */
function sync(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Writes a new random root key to `path` (never over an existing file), durably. */
function writeNewKey(path: string, dir: string): void {
  const fd = openSync(path, 'wx', 0o600)
  try {
    writeSync(fd, randomBytes(32).toString('base64') + '\n')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  sync(dir)
}

/**
 * `keyward root-key rotate`.
 *
 * @example
 *   await rootKeyCommand(['rotate', '--data-dir', '/root/.keyward', '--json'], process.env)
 */
export async function rootKeyCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args
  if (sub === undefined || sub === '-h' || sub === '--help') {
    process.stdout.write(USAGE)
    return sub === undefined ? 1 : 0
  }
  if (sub !== 'rotate') throw new Error(`keyward root-key: unknown command '${sub}'\n\n${USAGE}`)
  const { values } = parseArgs({
    args: rest,
    options: {
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      // For tests: how long to wait before the final sweep (milliseconds).
      'settle-ms': { type: 'string' },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  if (env.KEYWARD_ROOT_KEY || env.KEYWARD_ROOT_KEY_URI) {
    throw new Error(
      'root-key rotate re-wraps under a new <data-dir>/root.key; a root key from KEYWARD_ROOT_KEY or a PKCS#11 token (KEYWARD_ROOT_KEY_URI) cannot be rotated this way.',
    )
  }
  const dataDir =
    values['data-dir'] ??
    (env.KEYWARD_DATA_DIR === '' ? undefined : env.KEYWARD_DATA_DIR) ??
    join(homedir(), '.keyward')
  const settleMs = values['settle-ms'] === undefined ? SETTLE_MS : Number(values['settle-ms'])
  if (!(settleMs >= 0 && settleMs <= 60_000)) {
    throw new Error(`invalid --settle-ms: ${values['settle-ms']}`)
  }
  const database = join(dataDir, 'keyward.db')
  if (!existsSync(database)) throw new Error(`There is no database at ${database}.`)
  const rootPath = join(dataDir, 'root.key')
  const nextPath = join(dataDir, NEXT)
  const { SoftwareRootKey } = await import('../adapters/root-key/software-root-key.js')
  const { assertPrivateFile } = await import('../config/file-permissions.js')
  const { SqliteRewrapStore } = await import('../adapters/store-sql/rewrap-store.js')
  const { finishRotation, rotateRootKey, ROOT_KEY_SETTING, ROTATION_SETTING } =
    await import('../services/root-key-rotation.js')
  const readKey = (path: string) => {
    assertPrivateFile(path, { what: 'root key', allowInsecure: false })
    return new SoftwareRootKey(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64'))
  }
  const store = SqliteRewrapStore.open(database)
  const progress = progressLine({ enabled: values.json !== true && process.stderr.isTTY === true })
  try {
    const current = readKey(rootPath)
    const recorded = store.getSetting(ROOT_KEY_SETTING)
    const inProgress = store.getSetting(ROTATION_SETTING) !== undefined
    // A rotation finished in the database but stopped before its files: only finish them.
    const finishing =
      !inProgress && existsSync(nextPath) && recorded === readKey(nextPath).fingerprint
    if (!finishing) {
      if (recorded !== current.fingerprint) {
        throw new Error(
          `${rootPath} is not the root key ${database} records (${String(recorded)}); refusing to rotate.`,
        )
      }
      // A new rotation writes the next key first; a crash before anything was recorded
      // leaves it there, and it is used.
      if (!existsSync(nextPath)) {
        if (inProgress) {
          throw new Error(
            `A rotation is recorded in ${database} but its new key ${nextPath} is missing; restore that file to resume.`,
          )
        }
        writeNewKey(nextPath, dataDir)
      }
    }
    const next = readKey(nextPath)
    let result = { total: 0, rewrapped: 0, resumed: true }
    if (!finishing) {
      result = await rotateRootKey(store, {
        from: current,
        to: next,
        onProgress: (done, total) => progress.update('re-wrap', { done, total, unit: 'values' }),
      })
      await sleep(settleMs)
      // The sweep again, now that serving processes wrap under the new key.
      const swept = await rotateRootKey(store, { from: current, to: next })
      result = { ...result, rewrapped: result.rewrapped + swept.rewrapped }
      progress.done()
      finishRotation(store, next.fingerprint)
    }
    // Files last: a crash before this point resumes above; the old key stays as a retired file.
    const retired = join(dataDir, `${RETIRED}${current.fingerprint}`)
    if (!existsSync(retired)) linkSync(rootPath, retired)
    renameSync(nextPath, rootPath)
    sync(dataDir)
    const out = {
      from: current.fingerprint,
      to: next.fingerprint,
      values: result.total,
      rewrapped: result.rewrapped,
      resumed: result.resumed,
      retiredKeyFile: retired,
    }
    process.stdout.write(
      values.json
        ? JSON.stringify(out) + '\n'
        : `Root key rotated from ${out.from} to ${out.to}: ${out.rewrapped} of ${out.values} wrapped values re-wrapped${out.resumed ? ' (resumed)' : ''}. The old key is kept as ${retired}: keep it while you keep backups made before now.\n`,
    )
    return 0
  } finally {
    progress.done()
    store.close()
  }
}
