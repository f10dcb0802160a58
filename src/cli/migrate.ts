import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

export const MIGRATE_USAGE = `Usage: keyward migrate --from <data-dir> --to <postgres-url>

Copies a Keyward database from SQLite (<data-dir>/keyward.db) into PostgreSQL: every key,
material version, alias, tag, policy, grant, custom key store record, last use and setting.
Key material stays wrapped under the same root key: start the PostgreSQL nodes with the root
key of <data-dir> (root.key, KEYWARD_ROOT_KEY or the PKCS#11 token), and ciphertexts made
before decrypt after. The server of <data-dir> must be stopped. A target database that
already holds keys (or a root key) is refused; the copy is one transaction, so a failed one
leaves the target empty.

Options:
  --from <dir>    The data directory of the SQLite server
  --to <url>      postgres:// or postgresql:// URL of the target database
  -h, --help      Show this help
`

/**
 * `keyward migrate`: SQLite data directory → PostgreSQL. Progress goes to stderr, every
 * 500 rows of each table, so a long run shows it is moving.
 */
export async function migrateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(MIGRATE_USAGE)
    return 0
  }
  if (!values.from || !values.to) {
    process.stderr.write(`keyward migrate: --from and --to are required\n\n${MIGRATE_USAGE}`)
    return 1
  }
  const { isPostgresUrl, openPostgresKeyStore, redactUrl } =
    await import('../adapters/store-pg/open-postgres.js')
  if (!isPostgresUrl(values.to)) {
    throw new Error('--to must be a postgres:// or postgresql:// URL')
  }
  const databasePath = join(values.from, 'keyward.db')
  if (!existsSync(databasePath)) throw new Error(`${databasePath} does not exist`)
  const { lockDataDir } = await import('../adapters/store-sql/data-dir-lock.js')
  const { openSqliteKeyStore } = await import('../adapters/store-sql/open-sqlite.js')
  // No server may write to the source while it is copied.
  const lock = lockDataDir(values.from)
  try {
    const source = await openSqliteKeyStore(databasePath)
    try {
      const target = await openPostgresKeyStore(values.to)
      try {
        const counts = await source.copyInto(target, {
          onProgress: (table, rows) => process.stderr.write(`${table}: ${rows} rows\n`),
        })
        const summary = Object.entries(counts)
          .map(([table, rows]) => `${table} ${rows}`)
          .join(', ')
        console.log(`Copied ${databasePath} into ${redactUrl(values.to)}: ${summary}.`)
      } finally {
        await target.close()
      }
    } finally {
      await source.close()
    }
  } finally {
    lock.release()
  }
  return 0
}
