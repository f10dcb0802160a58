import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
} from 'kysely'

/**
 * Kysely's SQLite driver, except that a transaction starts with `BEGIN IMMEDIATE`.
 *
 * Kysely's SqliteDriver begins with a plain (deferred) `BEGIN`: the transaction reads from a
 * snapshot and asks for the write lock only at its first write. When another process (another
 * `--workers` process, or the CLI beside a server) commits in between, that write fails at once
 * with SQLITE_BUSY_SNAPSHOT ("database is locked"): in WAL mode the snapshot can no longer be
 * upgraded, and busy_timeout does not apply to that case (SQLite docs, "Write-Ahead Logging",
 * §2.2, and "BEGIN TRANSACTION": "a deferred transaction … will fail with SQLITE_BUSY").
 * `BEGIN IMMEDIATE` takes the write lock first, waiting up to busy_timeout for it, and reads
 * only after it holds the lock, so every read-modify-write sees the latest commit and cannot
 * fail for that reason. Within one process Kysely already runs one transaction at a time (one
 * connection behind a mutex), so this costs nothing there.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

/**
 * SqliteDialect whose transactions begin with `BEGIN IMMEDIATE` (see ImmediateSqliteDriver).
 *
 * @example
 *   const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) })
 */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0]

  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config)
    this.#config = config
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config)
  }
}
