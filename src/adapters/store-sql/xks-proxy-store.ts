import BetterSqlite3 from 'better-sqlite3'
import { Kysely, Migrator, sql, type Migration } from 'kysely'
import { ImmediateSqliteDialect } from './immediate-sqlite-dialect.js'

/**
 * The XKS proxy's own database (`<dataDir>/xks-proxy.db`, SQLite), apart from Keyward's KMS
 * database: the keys of the local keystore, wrapped under the proxy's root key, and which
 * external keys an administrator disabled (for every backend: PKCS#11 has no notion of a
 * disabled key). The `keyward xks-proxy keys` commands write it while the proxy runs; the
 * proxy sees their commits through PRAGMA data_version and reloads its snapshot.
 */

/** Usages a key may have; the proxy's API needs ENCRYPT and DECRYPT (spec, GetKeyMetadata). */
export type XksKeyUsage = 'ENCRYPT' | 'DECRYPT'

/** One key of the local keystore. */
export interface LocalKeyRow {
  readonly id: string
  /** AES-256 key material wrapped under the proxy's root key, context `xks-local-key:<id>`. */
  readonly wrapped: Buffer
  readonly usage: readonly XksKeyUsage[]
  /** Epoch milliseconds. */
  readonly createdAt: number
}

/** Everything the request path reads, as of one moment. */
export interface XksStoreSnapshot {
  readonly localKeys: ReadonlyMap<string, LocalKeyRow>
  readonly disabled: ReadonlySet<string>
}

interface Database {
  xks_local_keys: { id: string; wrapped: Buffer; usage: string; created_at: number }
  xks_disabled_keys: { id: string; disabled_at: number }
  xks_settings: { name: string; value: string }
}

const MIGRATIONS: Record<string, Migration> = {
  '0001_local_keys_and_status': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('xks_local_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('wrapped', sql`blob`, (c) => c.notNull())
        .addColumn('usage', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('xks_disabled_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('disabled_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('xks_settings')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute()
    },
  },
}

/**
 * The proxy's database. Reads on the request path come from an in-memory snapshot, reloaded
 * when another process committed (a microsecond PRAGMA per request) or this one wrote.
 *
 * @example
 *   const store = await XksProxyStore.open('/var/lib/keyward-xks/xks-proxy.db')
 *   const { localKeys } = await store.snapshot()
 *   await store.close()
 */
export class XksProxyStore {
  /** How stale another process's change may be seen, at most (milliseconds). */
  static readonly RECHECK_MS = 50
  readonly #db: Kysely<Database>
  readonly #dataVersion: () => number
  #snapshot: XksStoreSnapshot | undefined
  #snapshotVersion = -1
  /** When data_version was last read (performance.now()). */
  #checkedAt = -Infinity
  #loading: Promise<XksStoreSnapshot> | undefined

  private constructor(db: Kysely<Database>, dataVersion: () => number) {
    this.#db = db
    this.#dataVersion = dataVersion
  }

  /** Opens (creating if needed) the database at `path` (':memory:' for tests). */
  static async open(path: string): Promise<XksProxyStore> {
    const database = new BetterSqlite3(path)
    database.pragma('journal_mode = WAL')
    // Every acknowledged key creation survives a crash (SQLite docs, "PRAGMA synchronous").
    database.pragma('synchronous = FULL')
    database.pragma('busy_timeout = 5000')
    const dataVersion = database.prepare('PRAGMA data_version').pluck()
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) })
    const { error } = await new Migrator({
      db,
      provider: { getMigrations: async () => MIGRATIONS },
    }).migrateToLatest()
    if (error) {
      await db.destroy()
      throw new Error('XKS proxy database migration failed', { cause: error })
    }
    return new XksProxyStore(db, () => dataVersion.get() as number)
  }

  /**
   * The current keys and statuses. Another process's commits show within
   * {@link XksProxyStore.RECHECK_MS}: data_version is read at most that often (a statement per
   * request was a measurable share of the proxy's CPU); this process's own writes show at once.
   */
  snapshot(): Promise<XksStoreSnapshot> {
    const now = performance.now()
    if (this.#snapshot && now - this.#checkedAt < XksProxyStore.RECHECK_MS) {
      return Promise.resolve(this.#snapshot)
    }
    this.#checkedAt = now
    const version = this.#dataVersion()
    if (this.#snapshot && version === this.#snapshotVersion) return Promise.resolve(this.#snapshot)
    this.#loading ??= this.#load(version).finally(() => {
      this.#loading = undefined
    })
    return this.#loading
  }

  async #load(version: number): Promise<XksStoreSnapshot> {
    const [keys, disabled] = await Promise.all([
      this.#db.selectFrom('xks_local_keys').selectAll().execute(),
      this.#db.selectFrom('xks_disabled_keys').select('id').execute(),
    ])
    const snapshot: XksStoreSnapshot = {
      localKeys: new Map(
        keys.map((r) => [
          r.id,
          {
            id: r.id,
            wrapped: Buffer.from(r.wrapped),
            usage: JSON.parse(r.usage) as XksKeyUsage[],
            createdAt: Number(r.created_at),
          },
        ]),
      ),
      disabled: new Set(disabled.map((r) => r.id)),
    }
    this.#snapshot = snapshot
    this.#snapshotVersion = version
    return snapshot
  }

  /** Forgets the snapshot after this process's own writes (data_version ignores them). */
  #changed(): void {
    this.#snapshot = undefined
  }

  /** Adds a local key; false when the id is taken (nothing is changed then). */
  async insertLocalKey(row: LocalKeyRow): Promise<boolean> {
    const result = await this.#db
      .insertInto('xks_local_keys')
      .values({
        id: row.id,
        wrapped: row.wrapped,
        usage: JSON.stringify(row.usage),
        created_at: row.createdAt,
      })
      .onConflict((c) => c.column('id').doNothing())
      .executeTakeFirst()
    this.#changed()
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
  }

  /** Removes a local key and its status in one transaction; false when there was no key. */
  async deleteLocalKey(id: string): Promise<boolean> {
    const deleted = await this.#db.transaction().execute(async (tx) => {
      const r = await tx.deleteFrom('xks_local_keys').where('id', '=', id).executeTakeFirst()
      await tx.deleteFrom('xks_disabled_keys').where('id', '=', id).execute()
      return Number(r.numDeletedRows) === 1
    })
    this.#changed()
    return deleted
  }

  /** Marks an external key disabled or enabled (idempotent). */
  async setDisabled(id: string, disabled: boolean, now = Date.now()): Promise<void> {
    if (disabled) {
      await this.#db
        .insertInto('xks_disabled_keys')
        .values({ id, disabled_at: now })
        .onConflict((c) => c.column('id').doNothing())
        .execute()
    } else {
      await this.#db.deleteFrom('xks_disabled_keys').where('id', '=', id).execute()
    }
    this.#changed()
  }

  /** A stored setting (e.g. the root key's fingerprint). */
  async setting(name: string): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('xks_settings')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirst()
    return row?.value
  }

  /** Stores a setting unless one is already there; returns the stored value. */
  async initSetting(name: string, value: string): Promise<string> {
    await this.#db
      .insertInto('xks_settings')
      .values({ name, value })
      .onConflict((c) => c.column('name').doNothing())
      .execute()
    return (await this.setting(name))!
  }

  async close(): Promise<void> {
    await this.#db.destroy()
  }
}
