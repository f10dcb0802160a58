import type { CustomKeyStoreRecord } from '../domain/custom-key-store.js'
import type { Scope } from '../domain/identifiers.js'
import type { GrantRecord } from '../domain/grant.js'
import type { KeyMaterialRecord, KeyRecord } from '../domain/key.js'

/** An alias as stored (names keep their `alias/` prefix). */
export interface AliasRecord {
  readonly accountId: string
  readonly region: string
  readonly aliasName: string
  readonly targetKeyId: string
  readonly creationDate: number
  readonly lastUpdatedDate: number
}

/** The latest cryptographic use of a key (GetKeyLastUsage). */
export interface KeyUsageRecord {
  readonly region: string
  readonly keyId: string
  readonly operation: string
  /** Epoch milliseconds. */
  readonly usedAt: number
  readonly requestId: string
  /** The audit trail's eventID of that call, when a trail recorded it. */
  readonly cloudTrailEventId?: string
}

/** One page of a listing: up to `limit` items, and whether more follow. */
export interface Page<T> {
  readonly items: readonly T[]
  readonly truncated: boolean
}

/** Where a listing resumes: the sort key of the last item of the previous page. */
export interface PageRequest {
  readonly limit: number
  readonly after?: string
}

/** What can be read and written inside one transaction. */
export interface KeyStoreTransaction {
  getKey(region: string, keyId: string): Promise<KeyRecord | undefined>
  /** Inserts a new key; the key ID must be new in its Region. */
  insertKey(key: KeyRecord): Promise<void>
  /** Replaces an existing key's record. */
  updateKey(key: KeyRecord): Promise<void>
  /** Deletes a key with its material versions, its grants and every alias that points at it. */
  deleteKey(region: string, keyId: string): Promise<void>
  insertKeyMaterial(material: KeyMaterialRecord): Promise<void>
  /**
   * Replaces the wrapped bytes of a material that may already be stored (the same imported
   * material imported again), or inserts it.
   */
  putKeyMaterial(material: KeyMaterialRecord): Promise<void>
  listKeyMaterials(region: string, keyId: string): Promise<KeyMaterialRecord[]>
  /** Deletes one material's wrapped bytes (imported material deleted or expired). */
  deleteKeyMaterial(region: string, keyId: string, keyMaterialId: string): Promise<void>
  getAlias(scope: Scope, aliasName: string): Promise<AliasRecord | undefined>
  /** Inserts a new alias; returns false (and changes nothing) when the name is taken. */
  insertAlias(alias: AliasRecord): Promise<boolean>
  updateAlias(alias: AliasRecord): Promise<void>
  deleteAlias(scope: Scope, aliasName: string): Promise<void>
  countAliases(region: string, keyId: string): Promise<number>
  getCustomKeyStore(
    region: string,
    customKeyStoreId: string,
  ): Promise<CustomKeyStoreRecord | undefined>
  /** The store of the account and Region with this name (names are unique there). */
  findCustomKeyStoreByName(scope: Scope, name: string): Promise<CustomKeyStoreRecord | undefined>
  /** The store, in any account or Region, that uses this cluster (a cluster serves one store). */
  findCustomKeyStoreByCluster(cloudHsmClusterId: string): Promise<CustomKeyStoreRecord | undefined>
  /** Every store of the account in the Region (at most the custom key stores quota, 10 by default). */
  listCustomKeyStoresOf(scope: Scope): Promise<CustomKeyStoreRecord[]>
  /**
   * How many keys the account has in the Region, in any state (the "AWS KMS keys" resource
   * quota counts every customer managed key "regardless of their key spec or key state").
   */
  countKeys(scope: Scope): Promise<number>
  countCustomKeyStores(scope: Scope): Promise<number>
  insertCustomKeyStore(store: CustomKeyStoreRecord): Promise<void>
  /** Replaces an existing store's record. */
  updateCustomKeyStore(store: CustomKeyStoreRecord): Promise<void>
  deleteCustomKeyStore(region: string, customKeyStoreId: string): Promise<void>
  /** How many keys (in any state) live in the store. */
  countKeysInCustomKeyStore(region: string, customKeyStoreId: string): Promise<number>
  /** The keys (in any state) that live in the store, by key ID. */
  listKeysInCustomKeyStore(region: string, customKeyStoreId: string): Promise<KeyRecord[]>
  /** Inserts a new grant; its ID must be new. */
  insertGrant(grant: GrantRecord): Promise<void>
  /** The grant with this ID, in any Region. */
  getGrant(grantId: string): Promise<GrantRecord | undefined>
  /** Deletes a grant; returns whether it existed. */
  deleteGrant(grantId: string): Promise<boolean>
  /** How many grants a key has (the grants-per-key quota). */
  countGrants(region: string, keyId: string): Promise<number>
  /** The grants of a key with this Name (names need not be unique), by ID. */
  findGrantsByName(region: string, keyId: string, name: string): Promise<GrantRecord[]>
  /** Every grant of a key, by ID (at most the grants-per-key quota). */
  listGrantsOfKey(region: string, keyId: string): Promise<GrantRecord[]>
}

/** Which grants of a key a ListGrants page shows. */
export interface GrantFilter {
  readonly grantId?: string
  readonly granteePrincipal?: string
}

/**
 * The storage port. Every adapter (SQLite, PostgreSQL) passes the same contract
 * suite, test/adapters/key-store-contract.ts. All methods are asynchronous so that a networked
 * database fits behind the same interface; no SQL exists outside the adapters.
 */
export interface KeyStore extends KeyStoreTransaction {
  /**
   * Runs `fn` in one transaction: all of its writes commit together or none do. Reads inside
   * see a consistent state, and writers are serialised, so read-modify-write is safe.
   */
  transaction<T>(fn: (tx: KeyStoreTransaction) => Promise<T>): Promise<T>
  listKeys(scope: Scope, page: PageRequest): Promise<Page<KeyRecord>>
  listAliases(
    scope: Scope,
    page: PageRequest & { readonly keyId?: string },
  ): Promise<Page<AliasRecord>>
  /** The account's custom key stores in the Region, ordered by ID. */
  listCustomKeyStores(scope: Scope, page: PageRequest): Promise<Page<CustomKeyStoreRecord>>
  /** Every custom key store of every account and Region (start-up reconnection). */
  listAllCustomKeyStores(): Promise<CustomKeyStoreRecord[]>
  /** Keys whose deletion date has passed (any account or Region). */
  /** Stores each key's latest use, keeping an already stored later one. */
  recordKeyUsage(uses: readonly KeyUsageRecord[]): Promise<void>
  getKeyUsage(region: string, keyId: string): Promise<KeyUsageRecord | undefined>
  listKeysDueForDeletion(now: number): Promise<Array<{ region: string; keyId: string }>>
  /** Enabled keys whose next automatic rotation date has passed (any account or Region). */
  listKeysDueForRotation(now: number): Promise<Array<{ region: string; keyId: string }>>
  /**
   * Keys in a transient state, Creating or Updating (any account or Region): the multi-Region
   * operations end those states at once, so the scheduler finds only what a crash left.
   */
  listKeysInTransientStates(): Promise<Array<{ region: string; keyId: string }>>
  /** Keys with imported material whose ValidTo has passed (any account or Region). */
  listKeysWithExpiredMaterial(now: number): Promise<Array<{ region: string; keyId: string }>>
  /**
   * A number that changes whenever ANOTHER process or connection has committed to the store
   * since the last call, read synchronously (it is checked before every cache hit). Keyward's
   * caches use it to stay coherent when several processes share one database (`--workers`).
   * Absent when the store cannot tell; then nothing else may write to it.
   */
  readonly commitsByOthers?: () => number
  /**
   * The change log: every write of a key (its record, materials or grants), an alias or a
   * custom key store appends what it changed, in the same transaction, so that a process whose
   * cache follows {@link commitsByOthers} forgets only what changed. Absent: a commit by another
   * process flushes every cache.
   */
  readonly changeLog?: ChangeLog
  /** One page of a key's grants, by grant ID, optionally filtered (ListGrants). */
  listGrants(
    key: { readonly region: string; readonly keyId: string },
    page: PageRequest & GrantFilter,
  ): Promise<Page<GrantRecord>>
  /** One page of the grants of `region` that name `retiringPrincipal`, by grant ID. */
  listRetirableGrants(
    query: { readonly region: string; readonly retiringPrincipal: string },
    page: PageRequest,
  ): Promise<Page<GrantRecord>>
  /**
   * How many keys are in each key state and key spec, every account and Region (metrics). A
   * scan of every key: called at most once per metrics refresh, never on a request.
   */
  countKeysByStateAndSpec(): Promise<Array<{ keyState: string; keySpec: string; count: number }>>
  /** Keys with imported material that expires, and the earliest ValidTo, epoch ms (metrics). */
  listMaterialExpirations(): Promise<Array<{ region: string; keyId: string; expiresAt: number }>>
  /**
   * Runs a scheduler job unless another node sharing this store runs the same job now, and
   * then resolves undefined (jobs run once across nodes). Absent: this process owns the store.
   */
  exclusive?<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>
  getSetting(name: string): Promise<string | undefined>
  setSetting(name: string, value: string): Promise<void>
  /**
   * Stores `value` under `name` unless a value is stored already, and returns the stored
   * value: of several processes initialising one setting at once, exactly one value wins.
   */
  initSetting(name: string, value: string): Promise<string>
  close(): Promise<void>
}

/** What one committed write changed, as a cache must forget it. */
export type StoreChange =
  | { readonly kind: 'key'; readonly region: string; readonly keyId: string }
  | {
      readonly kind: 'alias'
      readonly accountId: string
      readonly region: string
      readonly aliasName: string
    }
  | {
      readonly kind: 'custom-key-store'
      readonly region: string
      readonly customKeyStoreId: string
    }

/** A store's log of committed changes (see {@link KeyStore.changeLog}). */
export interface ChangeLog {
  /** The sequence number of the latest change, 0 when none is logged. */
  latest(): Promise<number>
  /**
   * The changes after sequence number `after`, oldest first, at most `limit`; `complete` is
   * false when some of them were trimmed already (then the reader must forget everything).
   */
  since(
    after: number,
    limit: number,
  ): Promise<{ changes: ReadonlyArray<StoreChange & { readonly seq: number }>; complete: boolean }>
  /** Deletes changes made before `before` (epoch ms), always keeping the latest one. */
  trim(before: number): Promise<number>
}
