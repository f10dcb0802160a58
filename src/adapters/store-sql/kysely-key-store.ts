import { AsyncLocalStorage } from 'node:async_hooks'
import { Migrator, sql, type Kysely, type Transaction } from 'kysely'
import type { CustomKeyStoreRecord } from '../../domain/custom-key-store.js'
import type { GrantRecord } from '../../domain/grant.js'
import type { Scope } from '../../domain/identifiers.js'
import type { KeyMaterialRecord, KeyRecord } from '../../domain/key.js'
import { earliestExpiry } from '../../domain/key-materials.js'
import type {
  AliasRecord,
  GrantFilter,
  KeyStore,
  KeyStoreTransaction,
  KeyUsageRecord,
  Page,
  PageRequest,
  StoreChange,
  ChangeLog,
} from '../../ports/key-store.js'
import { countKeysByStateAndSpec, listMaterialExpirations } from './key-inventory.js'
import { migrationProvider } from './migrations.js'
import { readKeyRecord } from './record-migrations.js'
import type { Database } from './schema.js'

/** Where statements run: the store's pool, or one transaction. */
export type Db = Kysely<Database> | Transaction<Database>

const toAlias = (row: Database['kms_aliases']): AliasRecord => ({
  accountId: row.account_id,
  region: row.region,
  aliasName: row.alias_name,
  targetKeyId: row.target_key_id,
  creationDate: Number(row.creation_date),
  lastUpdatedDate: Number(row.last_updated_date),
})

const toMaterial = (row: Database['kms_key_materials']): KeyMaterialRecord => ({
  region: row.region,
  keyId: row.key_id,
  keyMaterialId: row.key_material_id,
  createdAt: Number(row.created_at),
  wrapped: Buffer.from(row.wrapped),
})

/** A key's row; exported for tools that write keys in bulk (the 1M-key benchmark). */
export const keyRow = (key: KeyRecord) => ({
  region: key.region,
  key_id: key.keyId,
  account_id: key.accountId,
  key_state: key.keyState,
  deletion_date: key.deletionDate ?? null,
  creation_date: key.creationDate,
  next_rotation_date: key.nextRotationDate ?? null,
  material_expires_at: earliestExpiry(key) ?? null,
  custom_key_store_id: key.customKeyStoreId ?? null,
  record: JSON.stringify(key),
})

const customKeyStoreRow = (store: CustomKeyStoreRecord) => ({
  region: store.region,
  custom_key_store_id: store.customKeyStoreId,
  account_id: store.accountId,
  name: store.name,
  cloud_hsm_cluster_id:
    store.customKeyStoreType === 'AWS_CLOUDHSM' ? store.cloudHsmClusterId : null,
  record: JSON.stringify(store),
})

/** Custom key store records carry a schemaVersion like key records; only 1 exists so far. */
function readCustomKeyStore(json: string): CustomKeyStoreRecord {
  const record = JSON.parse(json) as { schemaVersion?: number }
  if (record.schemaVersion !== 1) {
    throw new Error(
      `custom key store record schemaVersion ${record.schemaVersion} is not supported by this Keyward (expects 1)`,
    )
  }
  return record as CustomKeyStoreRecord
}

const grantRow = (grant: GrantRecord) => ({
  grant_id: grant.grantId,
  region: grant.region,
  key_id: grant.keyId,
  name: grant.name ?? null,
  grantee_principal: grant.granteePrincipal,
  retiring_principal: grant.retiringPrincipal ?? null,
  creation_date: grant.creationDate,
  record: JSON.stringify({ schemaVersion: 1, ...grant }),
})

/** Grant records carry a schemaVersion like key records; only 1 exists so far. */
function readGrant(json: string): GrantRecord {
  const { schemaVersion, ...grant } = JSON.parse(json) as GrantRecord & { schemaVersion?: number }
  if (schemaVersion !== 1) {
    throw new Error(
      `grant record schemaVersion ${schemaVersion} is not supported by this Keyward (expects 1)`,
    )
  }
  return grant
}

/** A material's row; exported like {@link keyRow}. */
export const materialRow = (m: KeyMaterialRecord) => ({
  region: m.region,
  key_id: m.keyId,
  key_material_id: m.keyMaterialId,
  created_at: m.createdAt,
  wrapped: m.wrapped,
})

/**
 * Rows per multi-row statement: 5 parameters each stays far below SQLite's default limit of
 * 32,766 host parameters (SQLite docs, "Limits In SQLite" §9) and PostgreSQL's 65,535.
 */
const ROWS_PER_STATEMENT = 1_000

/** Stores each use unless a later one of the same key is stored already. */
async function upsertKeyUses(db: Db, uses: readonly KeyUsageRecord[]) {
  await db
    .insertInto('kms_key_last_usage')
    .values(
      uses.map((u) => ({
        region: u.region,
        key_id: u.keyId,
        operation: u.operation,
        used_at: u.usedAt,
        request_id: u.requestId,
        cloudtrail_event_id: u.cloudTrailEventId ?? null,
      })),
    )
    .onConflict((oc) =>
      oc
        .columns(['region', 'key_id'])
        .doUpdateSet((eb) => ({
          operation: eb.ref('excluded.operation'),
          used_at: eb.ref('excluded.used_at'),
          request_id: eb.ref('excluded.request_id'),
          cloudtrail_event_id: eb.ref('excluded.cloudtrail_event_id'),
        }))
        // Another worker may have stored a later use already.
        .where('kms_key_last_usage.used_at', '<', (eb) => eb.ref('excluded.used_at')),
    )
    .execute()
}

/** What other nodes are told of a change: a key by `region/keyId`, anything else as everything. */
const announcementOf = (change: StoreChange) =>
  change.kind === 'key' ? `${change.region}/${change.keyId}` : EVERYTHING

/** A change as its log row stores it. */
function changeRow(change: StoreChange) {
  const { region } = change
  const changed_at = Date.now()
  switch (change.kind) {
    case 'key':
      return { changed_at, kind: change.kind, region, account_id: null, name: change.keyId }
    case 'alias':
      return {
        changed_at,
        kind: change.kind,
        region,
        account_id: change.accountId,
        name: change.aliasName,
      }
    case 'custom-key-store':
      return {
        changed_at,
        kind: change.kind,
        region,
        account_id: null,
        name: change.customKeyStoreId,
      }
  }
}

/** A log row as the change it records. */
function toChange(
  row: Pick<Database['keyward_changes'], 'kind' | 'region' | 'account_id' | 'name'>,
): StoreChange {
  const { region, name } = row
  if (row.kind === 'alias') {
    return { kind: 'alias', region, accountId: row.account_id ?? '', aliasName: name }
  }
  if (row.kind === 'custom-key-store') {
    return { kind: 'custom-key-store', region, customKeyStoreId: name }
  }
  return { kind: 'key', region, keyId: name }
}

/** Splits `limit + 1` rows into one page and whether another follows. */
const page = <T>(rows: T[], limit: number): Page<T> => ({
  items: rows.slice(0, limit),
  truncated: rows.length > limit,
})

/**
 * What a change touched, as other nodes' caches name it: `<region>/<keyId>` for a key (its
 * record, materials or grants), {@link EVERYTHING} for what is cached by other names (aliases,
 * custom key stores).
 */
export const EVERYTHING = '*'

/** How the statements of one transaction (or of autocommit) behave on this database. */
interface StatementContext {
  /**
   * Lock each key, alias and custom key store row read inside a transaction (`SELECT … FOR
   * UPDATE`), so that a concurrent writer on another connection waits for this transaction
   * and then reads its result: READ COMMITTED alone would let both read the same row and the
   * later commit overwrite the earlier (PostgreSQL docs, "Transaction Isolation", 13.2.1).
   * SQLite has no row locks and needs none: its writers are serialised by BEGIN IMMEDIATE.
   */
  readonly lockRows: boolean
  /** Inside a transaction: what it changed so far, announced just before it commits. */
  readonly touched?: Set<string>
  /** Tells other nodes what changed (see {@link StoreOptions.announceChanges}). */
  readonly announce?: (db: Db, changed: readonly string[]) => Promise<void>
  /** See {@link StoreOptions.lockName}. */
  readonly lockName?: (db: Db, name: string) => Promise<void>
}

/** The statements of one transaction (or of autocommit), over any Kysely dialect. */
class Statements implements KeyStoreTransaction {
  readonly #statementsDb: Db
  readonly #context: StatementContext

  constructor(db: Db, context: StatementContext) {
    this.#statementsDb = db
    this.#context = context
  }

  /**
   * Inside a transaction, waits for other transactions that counted the same thing (a quota
   * count, then an insert) to finish, so that two nodes cannot both see room for one more.
   * There is no row to lock for a count: the store's `lockName` hook does it (PostgreSQL: a
   * transaction-level advisory lock). SQLite's writers are serialised already.
   */
  async #serialise(name: string): Promise<void> {
    if (this.#context.touched && this.#context.lockName) {
      await this.#context.lockName(this.db, name)
    }
  }

  /** A row lock for reads inside a transaction, where the database has them. */
  get #lock(): boolean {
    return this.#context.lockRows && this.#context.touched !== undefined
  }

  /**
   * Records that a write changed `id`: inside a transaction it is announced with the commit;
   * in autocommit, right after the write.
   */
  protected async touch(id: string): Promise<void> {
    if (this.#context.touched) this.#context.touched.add(id)
    else await this.#context.announce?.(this.db, [id])
  }

  /** Where statements run; the store overrides this to catch use inside its own transaction. */
  protected get db(): Db {
    return this.#statementsDb
  }

  /** Appends what a write changed to the change log, in the write's transaction. */
  protected async logChange(change: StoreChange) {
    await this.db.insertInto('keyward_changes').values(changeRow(change)).execute()
  }

  /**
   * A write changed `change`: both ways other caches learn of it see it. The change log (read by
   * processes sharing a SQLite file) names it exactly; the announcement (PostgreSQL NOTIFY,
   * delivered at commit) names a key, or everything for an alias or a custom key store, whose
   * effects on cached keys a node cannot tell from the name.
   */
  protected async changed(change: StoreChange, announce: string = announcementOf(change)) {
    await this.logChange(change)
    await this.touch(announce)
  }

  async getKey(region: string, keyId: string) {
    let q = this.db
      .selectFrom('kms_keys')
      .select('record')
      .where('region', '=', region)
      .where('key_id', '=', keyId)
    if (this.#lock) q = q.forUpdate()
    const row = await q.executeTakeFirst()
    return row ? readKeyRecord(row.record) : undefined
  }

  async insertKey(key: KeyRecord) {
    await this.db.insertInto('kms_keys').values(keyRow(key)).execute()
    await this.changed({ kind: 'key', region: key.region, keyId: key.keyId })
  }

  async updateKey(key: KeyRecord) {
    const { region, key_id, ...rest } = keyRow(key)
    await this.db
      .updateTable('kms_keys')
      .set(rest)
      .where('region', '=', region)
      .where('key_id', '=', key_id)
      .execute()
    await this.changed({ kind: 'key', region, keyId: key_id })
  }

  async deleteKey(region: string, keyId: string) {
    await this.db
      .deleteFrom('kms_grants')
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .execute()
    await this.db
      .deleteFrom('kms_key_last_usage')
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .execute()
    const aliases = await this.db
      .deleteFrom('kms_aliases')
      .where('region', '=', region)
      .where('target_key_id', '=', keyId)
      .returning(['account_id', 'alias_name'])
      .execute()
    for (const a of aliases) {
      await this.logChange({
        kind: 'alias',
        accountId: a.account_id,
        region,
        aliasName: a.alias_name,
      })
    }
    await this.db
      .deleteFrom('kms_key_materials')
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .execute()
    await this.db
      .deleteFrom('kms_keys')
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .execute()
    // Aliases that pointed at the key went with it.
    await this.changed({ kind: 'key', region, keyId }, EVERYTHING)
  }

  async insertKeyMaterial(m: KeyMaterialRecord) {
    await this.db.insertInto('kms_key_materials').values(materialRow(m)).execute()
    await this.changed({ kind: 'key', region: m.region, keyId: m.keyId })
  }

  async putKeyMaterial(m: KeyMaterialRecord) {
    await this.db
      .insertInto('kms_key_materials')
      .values(materialRow(m))
      .onConflict((oc) =>
        oc
          .columns(['region', 'key_id', 'key_material_id'])
          .doUpdateSet({ wrapped: m.wrapped, created_at: m.createdAt }),
      )
      .execute()
    await this.changed({ kind: 'key', region: m.region, keyId: m.keyId })
  }

  async deleteKeyMaterial(region: string, keyId: string, keyMaterialId: string) {
    await this.db
      .deleteFrom('kms_key_materials')
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .where('key_material_id', '=', keyMaterialId)
      .execute()
    await this.changed({ kind: 'key', region, keyId })
  }

  async listKeyMaterials(region: string, keyId: string) {
    const rows = await this.db
      .selectFrom('kms_key_materials')
      .selectAll()
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .orderBy('created_at')
      .orderBy('key_material_id')
      .execute()
    return rows.map(toMaterial)
  }

  async getAlias(scope: Scope, aliasName: string) {
    let q = this.db
      .selectFrom('kms_aliases')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('region', '=', scope.region)
      .where('alias_name', '=', aliasName)
    if (this.#lock) q = q.forUpdate()
    const row = await q.executeTakeFirst()
    return row ? toAlias(row) : undefined
  }

  async insertAlias(alias: AliasRecord) {
    const result = await this.db
      .insertInto('kms_aliases')
      .values({
        account_id: alias.accountId,
        region: alias.region,
        alias_name: alias.aliasName,
        target_key_id: alias.targetKeyId,
        creation_date: alias.creationDate,
        last_updated_date: alias.lastUpdatedDate,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst()
    const inserted = Number(result.numInsertedOrUpdatedRows ?? 0) === 1
    if (inserted) await this.changed({ kind: 'alias', ...alias })
    return inserted
  }

  async updateAlias(alias: AliasRecord) {
    await this.db
      .updateTable('kms_aliases')
      .set({ target_key_id: alias.targetKeyId, last_updated_date: alias.lastUpdatedDate })
      .where('account_id', '=', alias.accountId)
      .where('region', '=', alias.region)
      .where('alias_name', '=', alias.aliasName)
      .execute()
    await this.changed({ kind: 'alias', ...alias })
  }

  async deleteAlias(scope: Scope, aliasName: string) {
    await this.db
      .deleteFrom('kms_aliases')
      .where('account_id', '=', scope.accountId)
      .where('region', '=', scope.region)
      .where('alias_name', '=', aliasName)
      .execute()
    await this.changed({ kind: 'alias', ...scope, aliasName })
  }

  async countAliases(region: string, keyId: string) {
    const row = await this.db
      .selectFrom('kms_aliases')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('region', '=', region)
      .where('target_key_id', '=', keyId)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async getCustomKeyStore(region: string, customKeyStoreId: string) {
    let q = this.db
      .selectFrom('kms_custom_key_stores')
      .select('record')
      .where('region', '=', region)
      .where('custom_key_store_id', '=', customKeyStoreId)
    if (this.#lock) q = q.forUpdate()
    const row = await q.executeTakeFirst()
    return row ? readCustomKeyStore(row.record) : undefined
  }

  async findCustomKeyStoreByName(scope: Scope, name: string) {
    const row = await this.db
      .selectFrom('kms_custom_key_stores')
      .select('record')
      .where('account_id', '=', scope.accountId)
      .where('region', '=', scope.region)
      .where('name', '=', name)
      .executeTakeFirst()
    return row ? readCustomKeyStore(row.record) : undefined
  }

  async findCustomKeyStoreByCluster(cloudHsmClusterId: string) {
    const row = await this.db
      .selectFrom('kms_custom_key_stores')
      .select('record')
      .where('cloud_hsm_cluster_id', '=', cloudHsmClusterId)
      .executeTakeFirst()
    return row ? readCustomKeyStore(row.record) : undefined
  }

  async listCustomKeyStoresOf(scope: Scope) {
    const rows = await this.db
      .selectFrom('kms_custom_key_stores')
      .select('record')
      .where('account_id', '=', scope.accountId)
      .where('region', '=', scope.region)
      .orderBy('custom_key_store_id')
      .execute()
    return rows.map((row) => readCustomKeyStore(row.record))
  }

  async countKeys(scope: Scope) {
    await this.#serialise(`keys:${scope.accountId}/${scope.region}`)
    // Served by the (account_id, region, key_id) index; every key state counts, as in AWS.
    const row = await this.db
      .selectFrom('kms_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', scope.accountId)
      .where('region', '=', scope.region)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async countCustomKeyStores(scope: Scope) {
    await this.#serialise(`custom-key-stores:${scope.accountId}/${scope.region}`)
    const row = await this.db
      .selectFrom('kms_custom_key_stores')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', scope.accountId)
      .where('region', '=', scope.region)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async insertCustomKeyStore(store: CustomKeyStoreRecord) {
    await this.db.insertInto('kms_custom_key_stores').values(customKeyStoreRow(store)).execute()
    await this.changed({ kind: 'custom-key-store', ...store })
  }

  async updateCustomKeyStore(store: CustomKeyStoreRecord) {
    const { region, custom_key_store_id, ...rest } = customKeyStoreRow(store)
    await this.db
      .updateTable('kms_custom_key_stores')
      .set(rest)
      .where('region', '=', region)
      .where('custom_key_store_id', '=', custom_key_store_id)
      .execute()
    await this.changed({
      kind: 'custom-key-store',
      region,
      customKeyStoreId: custom_key_store_id,
    })
  }

  async deleteCustomKeyStore(region: string, customKeyStoreId: string) {
    await this.db
      .deleteFrom('kms_custom_key_stores')
      .where('region', '=', region)
      .where('custom_key_store_id', '=', customKeyStoreId)
      .execute()
    await this.changed({ kind: 'custom-key-store', region, customKeyStoreId })
  }

  async listKeysInCustomKeyStore(region: string, customKeyStoreId: string) {
    const rows = await this.db
      .selectFrom('kms_keys')
      .select('record')
      .where('region', '=', region)
      .where('custom_key_store_id', '=', customKeyStoreId)
      .orderBy('key_id')
      .execute()
    return rows.map((row) => readKeyRecord(row.record))
  }

  async insertGrant(grant: GrantRecord) {
    await this.db.insertInto('kms_grants').values(grantRow(grant)).execute()
    await this.changed({ kind: 'key', region: grant.region, keyId: grant.keyId })
  }

  async getGrant(grantId: string) {
    const row = await this.db
      .selectFrom('kms_grants')
      .select('record')
      .where('grant_id', '=', grantId)
      .executeTakeFirst()
    return row ? readGrant(row.record) : undefined
  }

  async deleteGrant(grantId: string) {
    // RETURNING (SQLite 3.35+, PostgreSQL): the key whose cached grants other nodes forget.
    const deleted = await this.db
      .deleteFrom('kms_grants')
      .where('grant_id', '=', grantId)
      .returning(['region', 'key_id'])
      .executeTakeFirst()
    if (deleted) await this.changed({ kind: 'key', region: deleted.region, keyId: deleted.key_id })
    return deleted !== undefined
  }

  async countGrants(region: string, keyId: string) {
    const row = await this.db
      .selectFrom('kms_grants')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async findGrantsByName(region: string, keyId: string, name: string) {
    const rows = await this.db
      .selectFrom('kms_grants')
      .select('record')
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .where('name', '=', name)
      .orderBy('grant_id')
      .execute()
    return rows.map((r) => readGrant(r.record))
  }

  async listGrantsOfKey(region: string, keyId: string) {
    const rows = await this.db
      .selectFrom('kms_grants')
      .select('record')
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .orderBy('grant_id')
      .execute()
    return rows.map((r) => readGrant(r.record))
  }

  async countKeysInCustomKeyStore(region: string, customKeyStoreId: string) {
    const row = await this.db
      .selectFrom('kms_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('region', '=', region)
      .where('custom_key_store_id', '=', customKeyStoreId)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }
}

/** How a KyselyKeyStore behaves beyond plain SQL. */
export interface StoreOptions {
  /** The dialect's way to see other writers' commits (see KeyStore.commitsByOthers). */
  readonly commitsByOthers?: () => number
  /** The schema of Kysely's migration tables (PostgreSQL: the session's current schema). */
  readonly migrationSchema?: string
  /** Lock rows read inside a transaction (`SELECT … FOR UPDATE`; PostgreSQL). */
  readonly lockRows?: boolean
  /**
   * Takes a lock named `name` until the transaction `db` ends (PostgreSQL:
   * `pg_advisory_xact_lock`); serialises quota counts across nodes.
   */
  readonly lockName?: (db: Db, name: string) => Promise<void>
  /**
   * Called with what a change touched (`<region>/<keyId>` or {@link EVERYTHING}), inside the
   * transaction just before it commits, so that the announcement and the change commit
   * together (PostgreSQL delivers a NOTIFY at commit, and never for a rolled-back one).
   */
  readonly announceChanges?: (db: Db, changed: readonly string[]) => Promise<void>
  /**
   * Runs `fn` only when no other node runs the job called `name` now (PostgreSQL advisory
   * locks); undefined when another does. Absent: one process owns the database.
   */
  readonly exclusive?: <T>(name: string, fn: () => Promise<T>) => Promise<T | undefined>
  /** Closes what the dialect opened beside Kysely's pool (a LISTEN connection). */
  readonly onClose?: () => Promise<void>
  /**
   * Refuse use of the store itself inside one of its own transactions (a deadlock on SQLite).
   * The check needs AsyncLocalStorage, whose promise hooks slow every request once enabled, so
   * it is for tests (the contract suite and test servers turn it on), not for production.
   */
  readonly guardTransactions?: boolean
}

/**
 * Applies every pending migration of migrations.ts. `schema`: where Kysely keeps its own
 * migration tables (PostgreSQL; Kysely looks them up in every schema unless told one, so a
 * second Keyward schema in the same database would find the first one's and skip creating
 * its own).
 */
export async function migrateToLatest(db: Kysely<Database>, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    ...(schema !== undefined ? { migrationTableSchema: schema } : {}),
  })
  const { error } = await migrator.migrateToLatest()
  if (error) throw new Error('database migration failed', { cause: error })
}

/** Every table of Keyward's schema, parents first (see copyInto). */
const COPIED_TABLES = [
  'kms_keys',
  'kms_key_materials',
  'kms_aliases',
  'kms_custom_key_stores',
  'kms_grants',
  'kms_key_last_usage',
  'keyward_settings',
] as const

/** Tables that must be empty in a copy's target (settings may hold the migrations' own). */
async function assertEmpty(db: Db): Promise<void> {
  for (const table of COPIED_TABLES.filter((t) => t !== 'keyward_settings')) {
    const row = await db
      .selectFrom(table)
      .select(sql<number>`1`.as('one'))
      .limit(1)
      .executeTakeFirst()
    if (row)
      throw new Error(
        `the target database is not empty (${table} has rows); refusing to copy into it`,
      )
  }
  const root = await db
    .selectFrom('keyward_settings')
    .select('value')
    .where('name', '=', 'root_key_fingerprint')
    .executeTakeFirst()
  if (root)
    throw new Error('the target database already records a root key; refusing to copy into it')
}

/** Rows copied per statement; also how often progress is told. */
const COPY_BATCH = 500

/**
 * Copies one table in batches, streaming the source (SQLite iterates without loading the
 * table). Settings replace the target's (migration 0003 wrote its own tracking start date).
 */
async function copyTable(
  from: Kysely<Database>,
  to: Transaction<Database>,
  options: {
    table: (typeof COPIED_TABLES)[number]
    onProgress?: (table: string, rows: number) => void
  },
): Promise<number> {
  const { table } = options
  let batch: Array<Record<string, unknown>> = []
  let copied = 0
  const flush = async () => {
    if (batch.length === 0) return
    const rows = batch as never[]
    if (table === 'keyward_settings') {
      await to
        .insertInto('keyward_settings')
        .values(rows)
        .onConflict((oc) =>
          oc.column('name').doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
        )
        .execute()
    } else {
      await to.insertInto(table).values(rows).execute()
    }
    copied += batch.length
    batch = []
    options.onProgress?.(table, copied)
  }
  for await (const row of from.selectFrom(table).selectAll().stream(COPY_BATCH)) {
    batch.push(row as Record<string, unknown>)
    if (batch.length >= COPY_BATCH) await flush()
  }
  await flush()
  return copied
}

/** The transaction, if any, that the current asynchronous call chain runs inside. */
const openTransaction = new AsyncLocalStorage<{ store: KyselyKeyStore; open: boolean }>()

/**
 * The KeyStore port over Kysely. The SQL is dialect-neutral, so the SQLite adapter
 * (open-sqlite.ts) and a PostgreSQL one differ only in how they connect.
 */
export class KyselyKeyStore extends Statements implements KeyStore {
  readonly #kysely: Kysely<Database>
  readonly #guardTransactions: boolean
  readonly #options: StoreOptions
  readonly commitsByOthers?: () => number
  readonly changeLog: ChangeLog

  private constructor(db: Kysely<Database>, options: StoreOptions) {
    super(db, {
      lockRows: options.lockRows === true,
      ...(options.announceChanges ? { announce: options.announceChanges } : {}),
      ...(options.lockName ? { lockName: options.lockName } : {}),
    })
    this.#kysely = db
    this.#options = options
    this.#guardTransactions = options.guardTransactions === true
    if (options.commitsByOthers) this.commitsByOthers = options.commitsByOthers
    this.changeLog = {
      latest: () => this.#latestChange(),
      since: (after, limit) => this.#changesSince(after, limit),
      trim: (before) => this.#trimChanges(before),
    }
  }

  async #latestChange(): Promise<number> {
    const row = await this.#db
      .selectFrom('keyward_changes')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst()
    return Number(row?.seq ?? 0)
  }

  /**
   * The changes after `after`. The sequence has no gaps on SQLite (a rolled-back insert also
   * rolls back AUTOINCREMENT's counter), so a first change other than `after + 1` means the
   * ones between were trimmed. PostgreSQL's sequences may skip numbers: there a gap only
   * costs a needless full flush.
   */
  async #changesSince(after: number, limit: number) {
    const rows = await this.#db
      .selectFrom('keyward_changes')
      .selectAll()
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(limit)
      .execute()
    const first = rows[0]
    return {
      changes: rows.map((row) => ({ ...toChange(row), seq: Number(row.seq) })),
      complete: first === undefined || Number(first.seq) === after + 1,
    }
  }

  async #trimChanges(before: number): Promise<number> {
    const latest = await this.#latestChange()
    const result = await this.#db
      .deleteFrom('keyward_changes')
      .where('changed_at', '<', before)
      .where('seq', '<', latest)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  /**
   * Runs a scheduler job here unless another node runs it now (see StoreOptions.exclusive);
   * a store that owns its database alone always runs it.
   */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    return this.#options.exclusive ? this.#options.exclusive(name, fn) : fn()
  }

  /**
   * The store itself (not the `tx` of a transaction), refused inside one of its own
   * transactions: on SQLite's single connection that call would wait for the transaction,
   * which waits for the call, forever; on a pool it would read outside the transaction.
   */
  protected override get db(): Kysely<Database> {
    return this.#outsideTransaction()
  }

  get #db(): Kysely<Database> {
    return this.#outsideTransaction()
  }

  #outsideTransaction(): Kysely<Database> {
    if (!this.#guardTransactions) return this.#kysely
    const current = openTransaction.getStore()
    if (current?.open && current.store === this) {
      throw new Error(
        'KeyStore used directly inside one of its own transactions: use the transaction object (tx) instead',
      )
    }
    return this.#kysely
  }

  /** Applies pending migrations and returns a ready store. */
  static async open(db: Kysely<Database>, options: StoreOptions = {}): Promise<KyselyKeyStore> {
    await migrateToLatest(db, options.migrationSchema)
    return new KyselyKeyStore(db, options)
  }

  async transaction<T>(fn: (tx: KeyStoreTransaction) => Promise<T>): Promise<T> {
    const db = this.#db
    const run = async (trx: Transaction<Database>) => {
      const touched = new Set<string>()
      const announce = this.#options.announceChanges
      const statements = new Statements(trx, {
        lockRows: this.#options.lockRows === true,
        touched,
        ...(announce ? { announce } : {}),
        ...(this.#options.lockName ? { lockName: this.#options.lockName } : {}),
      })
      const result = await fn(statements)
      if (announce && touched.size > 0) await announce(trx, [...touched])
      return result
    }
    if (!this.#guardTransactions) return db.transaction().execute(run)
    return db.transaction().execute(async (trx) => {
      const marker = { store: this, open: true }
      try {
        return await openTransaction.run(marker, () => run(trx))
      } finally {
        // Work the function left running may use the store once the transaction is over.
        marker.open = false
      }
    })
  }

  async listKeys(scope: Scope, req: PageRequest) {
    let q = this.#db
      .selectFrom('kms_keys')
      .select('record')
      .where('account_id', '=', scope.accountId)
      .where('region', '=', scope.region)
    if (req.after !== undefined) q = q.where('key_id', '>', req.after)
    const rows = await q
      .orderBy('key_id')
      .limit(req.limit + 1)
      .execute()
    return page(
      rows.map((r) => readKeyRecord(r.record)),
      req.limit,
    )
  }

  async listAliases(scope: Scope, req: PageRequest & { keyId?: string }) {
    let q = this.#db
      .selectFrom('kms_aliases')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('region', '=', scope.region)
    if (req.keyId !== undefined) q = q.where('target_key_id', '=', req.keyId)
    if (req.after !== undefined) q = q.where('alias_name', '>', req.after)
    const rows = await q
      .orderBy('alias_name')
      .limit(req.limit + 1)
      .execute()
    return page(rows.map(toAlias), req.limit)
  }

  async listCustomKeyStores(scope: Scope, req: PageRequest) {
    let q = this.#db
      .selectFrom('kms_custom_key_stores')
      .select('record')
      .where('account_id', '=', scope.accountId)
      .where('region', '=', scope.region)
    if (req.after !== undefined) q = q.where('custom_key_store_id', '>', req.after)
    const rows = await q
      .orderBy('custom_key_store_id')
      .limit(req.limit + 1)
      .execute()
    return page(
      rows.map((r) => readCustomKeyStore(r.record)),
      req.limit,
    )
  }

  async listGrants(key: { region: string; keyId: string }, req: PageRequest & GrantFilter) {
    let q = this.#db
      .selectFrom('kms_grants')
      .select('record')
      .where('region', '=', key.region)
      .where('key_id', '=', key.keyId)
    if (req.grantId !== undefined) q = q.where('grant_id', '=', req.grantId)
    if (req.granteePrincipal !== undefined) {
      q = q.where('grantee_principal', '=', req.granteePrincipal)
    }
    if (req.after !== undefined) q = q.where('grant_id', '>', req.after)
    const rows = await q
      .orderBy('grant_id')
      .limit(req.limit + 1)
      .execute()
    return page(
      rows.map((r) => readGrant(r.record)),
      req.limit,
    )
  }

  async listRetirableGrants(
    query: { region: string; retiringPrincipal: string },
    req: PageRequest,
  ) {
    let q = this.#db
      .selectFrom('kms_grants')
      .select('record')
      .where('retiring_principal', '=', query.retiringPrincipal)
      .where('region', '=', query.region)
    if (req.after !== undefined) q = q.where('grant_id', '>', req.after)
    const rows = await q
      .orderBy('grant_id')
      .limit(req.limit + 1)
      .execute()
    return page(
      rows.map((r) => readGrant(r.record)),
      req.limit,
    )
  }

  async listAllCustomKeyStores() {
    const rows = await this.#db.selectFrom('kms_custom_key_stores').select('record').execute()
    return rows.map((r) => readCustomKeyStore(r.record))
  }

  /**
   * Multi-row upserts, in one transaction: a statement per row cost a round trip (PostgreSQL)
   * or a statement step (SQLite) each. The uses of one call name distinct keys (KeyService
   * keeps the latest per key); a duplicate keeps its latest use, since one statement cannot
   * update a row twice. Callers bound the batch (KeyService.saveKeyUses): the whole call holds
   * SQLite's connection, and so the event loop, until it commits.
   */
  async recordKeyUsage(uses: readonly KeyUsageRecord[]) {
    const latest = new Map<string, KeyUsageRecord>()
    for (const u of uses) {
      const id = `${u.region}/${u.keyId}`
      const known = latest.get(id)
      if (!known || known.usedAt <= u.usedAt) latest.set(id, u)
    }
    if (latest.size === 0) return
    const rows = [...latest.values()]
    await this.#db.transaction().execute(async (trx) => {
      for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
        await upsertKeyUses(trx, rows.slice(start, start + ROWS_PER_STATEMENT))
      }
    })
  }

  async getKeyUsage(region: string, keyId: string) {
    const row = await this.#db
      .selectFrom('kms_key_last_usage')
      .selectAll()
      .where('region', '=', region)
      .where('key_id', '=', keyId)
      .executeTakeFirst()
    return row
      ? {
          region: row.region,
          keyId: row.key_id,
          operation: row.operation,
          usedAt: Number(row.used_at),
          requestId: row.request_id,
          ...(row.cloudtrail_event_id ? { cloudTrailEventId: row.cloudtrail_event_id } : {}),
        }
      : undefined
  }

  async listKeysDueForDeletion(now: number) {
    const rows = await this.#db
      .selectFrom('kms_keys')
      .select(['region', 'key_id'])
      .where('deletion_date', 'is not', null)
      .where('deletion_date', '<=', now)
      .execute()
    return rows.map((r) => ({ region: r.region, keyId: r.key_id }))
  }

  async listKeysDueForRotation(now: number) {
    const rows = await this.#db
      .selectFrom('kms_keys')
      .select(['region', 'key_id'])
      .where('next_rotation_date', 'is not', null)
      .where('next_rotation_date', '<=', now)
      .where('key_state', '=', 'Enabled')
      .execute()
    return rows.map((r) => ({ region: r.region, keyId: r.key_id }))
  }

  async listKeysInTransientStates() {
    const rows = await this.#db
      .selectFrom('kms_keys')
      .select(['region', 'key_id'])
      .where('key_state', 'in', ['Creating', 'Updating'])
      .execute()
    return rows.map((r) => ({ region: r.region, keyId: r.key_id }))
  }

  async listKeysWithExpiredMaterial(now: number) {
    const rows = await this.#db
      .selectFrom('kms_keys')
      .select(['region', 'key_id'])
      .where('material_expires_at', 'is not', null)
      .where('material_expires_at', '<=', now)
      .execute()
    return rows.map((r) => ({ region: r.region, keyId: r.key_id }))
  }

  countKeysByStateAndSpec() {
    return countKeysByStateAndSpec(this.#db)
  }

  listMaterialExpirations() {
    return listMaterialExpirations(this.#db)
  }

  async getSetting(name: string) {
    const row = await this.#db
      .selectFrom('keyward_settings')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirst()
    return row?.value
  }

  async setSetting(name: string, value: string) {
    await this.#db
      .insertInto('keyward_settings')
      .values({ name, value })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
      .execute()
  }

  async initSetting(name: string, value: string) {
    await this.#db
      .insertInto('keyward_settings')
      .values({ name, value })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute()
    const stored = await this.getSetting(name)
    if (stored === undefined) throw new Error(`setting ${name} vanished while it was initialised`)
    return stored
  }

  /**
   * Copies every row of this store into `target`, an empty store (`keyward migrate`): keys,
   * material versions (still wrapped under the same root key), aliases, custom key stores,
   * grants, last uses and settings (the root key fingerprint among them), in one transaction
   * of the target, so that a failed copy leaves it empty. Refuses a target that holds any key,
   * alias, custom key store, grant or root key.
   *
   * @example
   *   await sqlite.copyInto(postgres, { onProgress: (table, n) => console.error(table, n) })
   */
  async copyInto(
    target: KyselyKeyStore,
    options: { readonly onProgress?: (table: string, rows: number) => void } = {},
  ): Promise<Record<string, number>> {
    const counts: Record<string, number> = {}
    await target.#kysely.transaction().execute(async (trx) => {
      await assertEmpty(trx)
      for (const table of COPIED_TABLES) {
        counts[table] = await copyTable(this.#kysely, trx, {
          table,
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        })
      }
    })
    return counts
  }

  async close() {
    try {
      await this.#options.onClose?.()
    } finally {
      await this.#kysely.destroy()
    }
  }
}
