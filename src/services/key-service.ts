import { createHmac } from 'node:crypto'
import {
  aliasNotFound,
  ciphertextKeyNotAccessible,
  invalidArnRegion,
  invalidKeyId,
  keyNotFound,
} from '../domain/errors/messages.js'
import type { SealingKey } from '../domain/ciphertext.js'
import { AccessDeniedException } from '../domain/errors/exceptions.js'
import { implicitDenyMessage } from '../domain/policy/index.js'
import {
  decodeImportParameters,
  encodeImportParameters,
  type ImportParameters,
} from '../domain/import-token.js'
import { withRotation, type RotationType } from '../domain/key-materials.js'
import { KEY_SPECS } from '../domain/key-specs.js'
import { generateKeyMaterial } from '../crypto/index.js'
import { classifyKeyReference, keyArn, aliasArn, type Scope } from '../domain/identifiers.js'
import type { KeyMaterialRecord, KeyRecord } from '../domain/key.js'
import {
  grantsQuotaExceeded,
  sameGrantParameters,
  type GrantRecord,
  type GrantRequest,
} from '../domain/grant.js'
import { grantIdOfToken, issueGrantToken } from '../domain/grant-token.js'
import type { Clock } from '../ports/clock.js'
import type {
  AliasRecord,
  GrantFilter,
  KeyStore,
  KeyStoreTransaction,
  KeyUsageRecord,
  Page,
  PageRequest,
} from '../ports/key-store.js'
import type { CustomKeyStoreRecord } from '../domain/custom-key-store.js'
import type { Random } from '../ports/random.js'
import type { RootKey } from '../ports/root-key.js'
import type { Caller } from '../domain/caller.js'
import { ByteBoundedLru } from './key-cache.js'
import { OtherWritersFollower } from './store-changes.js'
import { destroyRelated, syncReplicas } from './multi-region-keys.js'
import {
  DEFAULT_RESOURCE_QUOTAS,
  keysQuotaExceeded,
  type ResourceQuotas,
} from '../domain/quotas.js'

/** Which KeyId forms an operation accepts (API Reference, each operation's KeyId member). */
export type KeyIdForms = 'idOrArn' | 'idArnOrAlias'

/**
 * Who keys are resolved for: the caller and the Region of one request, and the request core's
 * hook for each key resolved (it authorizes the key and notes it as used by the call; see
 * src/core/invoke.ts). The OperationContext of every operation is one.
 */
export interface KeyRequester {
  readonly caller: Caller
  readonly region: string
  /** Throws to refuse the key (AccessDeniedException); the key is then not returned. */
  readonly onKeyResolved: (key: KeyRecord) => Promise<void>
  /** The API operation, named in the denial of a key of another account that does not exist. */
  readonly operation?: string
}

/** What {@link KeyService.resolve} is asked: a KeyId parameter, for whom, in which forms. */
export interface ResolveRequest {
  readonly by: KeyRequester
  /** The KeyId (TargetKeyId, DestinationKeyId, ...) member as the caller sent it. */
  readonly keyId: string
  readonly accept: KeyIdForms
}

interface CachedKey {
  readonly record: KeyRecord
  /** Unwrapped materials by KeyMaterialId, filled on first use. */
  readonly materials: Map<string, Buffer>
  /** The key's grants, for the authorization hot path; filled on first use. */
  grants?: readonly GrantRecord[]
}

/**
 * The default bound of the key cache: about 30,000 keys in use (an entry is estimated at about
 * 2.2 KB; 1.6 KB of heap measured per key with its material and grants).
 */
export const DEFAULT_KEY_CACHE_BYTES = 64 * 1024 * 1024

/*
 * Estimates of what a cached entry holds, for the cache's bound: V8 keeps an ASCII string at a
 * byte per character, and an object, a Map or a Buffer costs about a hundred bytes of headers
 * (a Buffer's own ArrayBuffer too). Estimates err high: the bound is a ceiling.
 */
const ENTRY_BYTES = 400
const BUFFER_BYTES = 160
const jsonBytes = (value: unknown) => 2 * JSON.stringify(value).length

/**
 * The most last-use rows one store call writes (see {@link KeyService.saveKeyUses}): about
 * 5–10 ms of SQLite work, so the flush adds at most that to a request that waits behind it.
 */
export const KEY_USE_BATCH = 500

/** The alias cache's key of an alias. */
const aliasCacheId = (scope: Scope, aliasName: string) =>
  `${scope.accountId}/${scope.region}/${aliasName}`

/**
 * `bytes` in a Buffer of its own, the original wiped. An unwrapped material is a slice of a
 * pooled Buffer.concat: kept in the cache, its 32 bytes would hold a shared 8 KiB slab alive
 * (Node.js docs, Buffer.allocUnsafe: pooled for sizes under 4 KiB), about 70 % of a cached
 * key's memory at scale (issue 13). Buffer.alloc never uses the pool.
 */
function ownCopy(bytes: Buffer): Buffer {
  const own = Buffer.alloc(bytes.length)
  bytes.copy(own)
  bytes.fill(0)
  return own
}

/** Resolves after the event loop has served the I/O and timers that were waiting. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * The AAD that binds a wrapped material to its key and version (see RootKey.wrap); exported
 * for tools that write keys in bulk (the 1M-key benchmark).
 */
export const materialContext = (m: { region: string; keyId: string; keyMaterialId: string }) =>
  `keyward:key-material:v1:${m.region}:${m.keyId}:${m.keyMaterialId}`

/** The AAD of an import token: the key it was issued for (another key cannot open it). */
const importTokenContext = (keyArn: string) => `keyward:import-token:v1:${keyArn}`

/** The AAD of the secret grant tokens are MACed under, and the setting that holds it. */
export const GRANT_TOKEN_KEY_CONTEXT = 'keyward:grant-token-key:v1'
const GRANT_TOKEN_KEY_SETTING = 'grant_token_key'

/** The AAD of an EXTERNAL key's material-ID secret. */
export const materialIdKeyContext = (k: { region: string; keyId: string }) =>
  `keyward:material-id-key:v1:${k.region}:${k.keyId}`

/**
 * Keys as the operations see them: resolution of every KeyId form with AWS's errors, a cache of
 * records and unwrapped material (so Encrypt does not touch the disk), and the only way to change
 * a key: {@link KeyService.mutate}, a read-modify-write inside one store transaction that then
 * invalidates the cache.
 */
export class KeyService {
  readonly #store: KeyStore
  readonly #rootKey: RootKey
  readonly #clock: Clock
  readonly #random: Random
  /** Records, unwrapped materials and grants by region/keyId, least recently used first. */
  readonly #keys: ByteBoundedLru<CachedKey>
  /** Alias targets by account/region/alias name. */
  readonly #aliases: ByteBoundedLru<string>
  /** The unwrapped grant-token secret, loaded (or made) on first use. */
  #grantTokenKey: Promise<Buffer> | undefined
  /**
   * Bumped by every invalidation. A cache fill records it before reading the store and stores
   * its result only if no invalidation happened meanwhile, so a read that raced with a change
   * can never put the old record back into the cache.
   */
  #epoch = 0
  /** Forgets what other processes changed (see store-changes.ts). */
  readonly #follower: OtherWritersFollower
  /** Latest uses not yet written to the store, by region/keyId (GetKeyLastUsage). */
  #unsavedUses = new Map<string, KeyUsageRecord>()
  /** Uses a {@link KeyService.saveKeyUses} is writing, batch by batch. */
  readonly #savingUses = new Set<ReadonlyMap<string, KeyUsageRecord>>()

  /** The resource quotas this Keyward enforces (AWS's defaults unless configured). */
  readonly quotas: ResourceQuotas

  constructor(deps: {
    store: KeyStore
    rootKey: RootKey
    clock: Clock
    random: Random
    quotas?: ResourceQuotas
    /**
     * The bound of the key cache, in (estimated) bytes of records, unwrapped material and
     * grants; default {@link DEFAULT_KEY_CACHE_BYTES}. Alias targets get an eighth more.
     */
    keyCacheBytes?: number
  }) {
    const bytes = deps.keyCacheBytes ?? DEFAULT_KEY_CACHE_BYTES
    this.#keys = new ByteBoundedLru(bytes)
    this.#aliases = new ByteBoundedLru(Math.ceil(bytes / 8))
    this.#follower = new OtherWritersFollower(deps.store, this)
    this.quotas = deps.quotas ?? DEFAULT_RESOURCE_QUOTAS
    this.#store = deps.store
    this.#rootKey = deps.rootKey
    this.#clock = deps.clock
    this.#random = deps.random
  }

  /*
   * Reads that operations and jobs need besides keys and aliases, outside any transaction.
   * They go through the service, never around it (operations do not see the store), so that a
   * cache, a read replica or per-Region routing has one place to go.
   */

  /** One page of the keys of `scope` (ListKeys). */
  listKeys(scope: Scope, page: PageRequest): Promise<Page<KeyRecord>> {
    return this.#store.listKeys(scope, page)
  }

  /** One page of the aliases of `scope`, or of one key of it (ListAliases). */
  listAliases(
    scope: Scope,
    page: PageRequest & { readonly keyId?: string },
  ): Promise<Page<AliasRecord>> {
    return this.#store.listAliases(scope, page)
  }

  /** The custom key store with this ID in `region`, any account. */
  getCustomKeyStore(
    region: string,
    customKeyStoreId: string,
  ): Promise<CustomKeyStoreRecord | undefined> {
    return this.#store.getCustomKeyStore(region, customKeyStoreId)
  }

  /** The custom key store of `scope` with this name. */
  findCustomKeyStoreByName(scope: Scope, name: string): Promise<CustomKeyStoreRecord | undefined> {
    return this.#store.findCustomKeyStoreByName(scope, name)
  }

  /** Every custom key store of `scope` (at most 10). */
  listCustomKeyStoresOf(scope: Scope): Promise<CustomKeyStoreRecord[]> {
    return this.#store.listCustomKeyStoresOf(scope)
  }

  /** One page of the custom key stores of `scope`, by ID (DescribeCustomKeyStores). */
  listCustomKeyStores(scope: Scope, page: PageRequest): Promise<Page<CustomKeyStoreRecord>> {
    return this.#store.listCustomKeyStores(scope, page)
  }

  /** The keys (any state) that live in a custom key store. */
  listKeysInCustomKeyStore(region: string, customKeyStoreId: string): Promise<KeyRecord[]> {
    return this.#store.listKeysInCustomKeyStore(region, customKeyStoreId)
  }

  /**
   * When this database started tracking key use (GetKeyLastUsage's TrackingStartDate), in
   * epoch milliseconds; undefined for a database that never recorded it.
   */
  async keyUsageTrackingStart(): Promise<number | undefined> {
    const value = await this.#store.getSetting('key_usage_tracking_start')
    return value === undefined ? undefined : Number(value)
  }

  /** Keys whose deletion date has passed, any account or Region (the scheduler). */
  listKeysDueForDeletion(now: number): Promise<Array<{ region: string; keyId: string }>> {
    return this.#store.listKeysDueForDeletion(now)
  }

  /** Enabled keys whose automatic rotation is due, any account or Region (the scheduler). */
  listKeysDueForRotation(now: number): Promise<Array<{ region: string; keyId: string }>> {
    return this.#store.listKeysDueForRotation(now)
  }

  /** Keys left Creating or Updating, any account or Region (the scheduler). */
  listKeysInTransientStates(): Promise<Array<{ region: string; keyId: string }>> {
    return this.#store.listKeysInTransientStates()
  }

  /** Keys with expired imported material, any account or Region (the scheduler). */
  listKeysWithExpiredMaterial(now: number): Promise<Array<{ region: string; keyId: string }>> {
    return this.#store.listKeysWithExpiredMaterial(now)
  }

  async #cached(region: string, keyId: string): Promise<CachedKey | undefined> {
    const id = `${region}/${keyId}`
    const hit = this.#keys.get(id)
    if (hit) return hit
    const epoch = this.#epoch
    const record = await this.#store.getKey(region, keyId)
    if (!record) return undefined
    const entry = { record, materials: new Map<string, Buffer>() }
    if (epoch === this.#epoch) this.#keys.set(id, entry, ENTRY_BYTES + jsonBytes(record))
    return entry
  }

  /** The key with this ID in `region`, any account; undefined when there is none. */
  async findKey(region: string, keyId: string): Promise<KeyRecord | undefined> {
    const othersWrote = this.#follower.follow()
    if (othersWrote) await othersWrote
    return (await this.#cached(region, keyId))?.record
  }

  /** The key an alias of `scope` points at, by full alias name. */
  async #aliasTarget(scope: Scope, aliasName: string): Promise<string | undefined> {
    const othersWrote = this.#follower.follow()
    if (othersWrote) await othersWrote
    const id = aliasCacheId(scope, aliasName)
    const hit = this.#aliases.get(id)
    if (hit) return hit
    const epoch = this.#epoch
    const alias = await this.#store.getAlias(scope, aliasName)
    if (alias && epoch === this.#epoch) {
      this.#aliases.set(
        id,
        alias.targetKeyId,
        ENTRY_BYTES + 2 * (id.length + alias.targetKeyId.length),
      )
    }
    return alias?.targetKeyId
  }

  /**
   * Resolves a KeyId parameter the way AWS does, with AWS's messages:
   * malformed → NotFoundException "Invalid keyId 'x'"; an ARN of another Region →
   * NotFoundException "Invalid arn <region>"; unknown → "Key '<arn>' does not exist";
   * unknown alias → "Alias <alias ARN> is not found." (the period as in
   * AWS's recorded answers). The key found is handed to
   * `request.by.onKeyResolved` (the request core: authorize, note as used) before it is
   * returned, so an operation only ever sees keys its caller may use.
   *
   * @example
   *   const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idArnOrAlias' })
   */
  async resolve(request: ResolveRequest): Promise<KeyRecord> {
    const key = await this.#find(request)
    await request.by.onKeyResolved(key)
    return key
  }

  async #find(request: ResolveRequest): Promise<KeyRecord> {
    const { by, keyId: value, accept } = request
    const { caller, region } = by
    const ref = classifyKeyReference(value)
    const scope = { accountId: caller.accountId, region }
    switch (ref.kind) {
      case 'malformed':
        throw invalidKeyId(value)
      case 'keyId':
        return this.#mustExist({ scope, keyId: ref.keyId, by })
      case 'keyArn':
        if (ref.arn.region !== region) throw invalidArnRegion(ref.arn.region)
        return this.#mustExist({ scope: ref.arn, keyId: ref.keyId, by })
      case 'aliasName':
      case 'aliasArn': {
        if (accept === 'idOrArn') throw invalidKeyId(value)
        const aliasScope = ref.kind === 'aliasArn' ? ref.arn : scope
        if (ref.kind === 'aliasArn' && ref.arn.region !== region) {
          throw invalidArnRegion(ref.arn.region)
        }
        const target = await this.#aliasTarget(aliasScope, ref.aliasName)
        if (!target) throw aliasNotFound(aliasArn(aliasScope, ref.aliasName))
        return this.#mustExist({ scope: aliasScope, keyId: target, by })
      }
    }
  }

  async #mustExist(req: { scope: Scope; keyId: string; by: KeyRequester }): Promise<KeyRecord> {
    const key = await this.findKey(req.scope.region, req.keyId)
    if (key && key.accountId === req.scope.accountId) return key
    const arn = keyArn(req.scope, req.keyId)
    // Whether another account's key may be used is its key policy's to say (onKeyResolved).
    // One that does not exist answers as one whose policy does not name the caller, so a
    // denial never tells whether a key of another account exists (kms-authz.md §8, §11).
    if (req.scope.accountId !== req.by.caller.accountId) {
      throw new AccessDeniedException(
        implicitDenyMessage(
          {
            principalArn: req.by.caller.arn,
            action: `kms:${req.by.operation ?? 'DescribeKey'}`,
            resource: arn,
          },
          'resource-based',
        ),
      )
    }
    throw keyNotFound(arn)
  }

  /**
   * The key a ciphertext names, for Decrypt and ReEncrypt. A missing key, or one the caller
   * cannot use, gets AWS's AccessDeniedException rather than NotFound. Like
   * {@link KeyService.resolve}, it hands the key to `request.by.onKeyResolved` first.
   *
   * @example
   *   const key = await ctx.keys.keyForCiphertext({ by: ctx, keyId: header.keyId })
   */
  async keyForCiphertext(request: { by: KeyRequester; keyId: string }): Promise<KeyRecord> {
    const { caller, region } = request.by
    const key = await this.findKey(region, request.keyId)
    if (!key) throw ciphertextKeyNotAccessible()
    if (key.accountId === caller.accountId) {
      await request.by.onKeyResolved(key)
      return key
    }
    // Another account's key opens its ciphertext where its key policy allows; a refusal says
    // no more than the answer for a key that does not exist.
    try {
      await request.by.onKeyResolved(key)
    } catch (error) {
      if (error instanceof AccessDeniedException) throw ciphertextKeyNotAccessible()
      throw error
    }
    return key
  }

  /**
   * Creates a key and, when given, its first material (wrapped here) in one transaction,
   * within the account's keys quota in the Region (counted inside that transaction, so two
   * concurrent creations cannot both take the last place).
   */
  async create(
    key: KeyRecord,
    material?: { keyMaterialId: string; bytes: Buffer },
    options?: {
      /** Runs first inside the inserting transaction; throw to refuse (a uniqueness rule). */
      check?: (tx: KeyStoreTransaction) => Promise<void>
    },
  ) {
    const wrapped = material && (await this.#wrap(key, material))
    await this.#store.transaction(async (tx) => {
      const count = await tx.countKeys({ accountId: key.accountId, region: key.region })
      if (count >= this.quotas.keys) throw keysQuotaExceeded(this.quotas.keys, count)
      await options?.check?.(tx)
      await tx.insertKey(key)
      if (wrapped) await tx.insertKeyMaterial(wrapped)
    })
    this.#invalidate(`${key.region}/${key.keyId}`)
  }

  /**
   * Forgets a cached key with its material and grants (or, with no id, every key and alias
   * target). A fill that read the store before this call does not put its result back.
   */
  #invalidate(id?: string): void {
    this.#epoch++
    if (id === undefined) {
      this.#keys.clear()
      this.#aliases.clear()
    } else {
      this.#keys.delete(id)
    }
  }

  /**
   * Forgets the cached record, material and grants of one key: another process (the change log)
   * or node (PostgreSQL LISTEN/NOTIFY, src/services/cluster-changes.ts) changed it.
   */
  forgetKey(region: string, keyId: string): void {
    this.#invalidate(`${region}/${keyId}`)
  }

  /** Forgets where one alias points (a change made elsewhere). */
  forgetAlias(scope: Scope, aliasName: string): void {
    this.#epoch++
    this.#aliases.delete(aliasCacheId(scope, aliasName))
  }

  /** Forgets every cached key, material, grant and alias target. */
  forgetAll(): void {
    this.#invalidate()
  }

  /** The key cache's entries and estimated bytes, against its bound. */
  cacheUsage(): { entries: number; bytes: number; maxBytes: number } {
    return this.#keys.usage()
  }

  async #wrap(
    key: KeyRecord,
    material: { keyMaterialId: string; bytes: Buffer },
  ): Promise<KeyMaterialRecord> {
    const ids = { region: key.region, keyId: key.keyId, keyMaterialId: material.keyMaterialId }
    return {
      ...ids,
      createdAt: this.#clock.now(),
      wrapped: await this.#rootKey.wrap(material.bytes, materialContext(ids)),
    }
  }

  /**
   * Changes a key: re-reads it inside a transaction, applies `change` to the current record and
   * writes the result, so concurrent changes serialise instead of overwriting each other.
   * `change` may throw (e.g. a state check) and then nothing is written.
   */
  async mutate(
    key: KeyRecord,
    change: (current: KeyRecord, tx: KeyStoreTransaction) => KeyRecord | Promise<KeyRecord>,
  ): Promise<KeyRecord> {
    try {
      return await this.#store.transaction(async (tx) => {
        const current = await tx.getKey(key.region, key.keyId)
        if (!current) throw keyNotFound(key.arn)
        const next = await change(current, tx)
        if (next !== current) {
          await tx.updateKey(next)
          // A primary's shared properties reach its replicas in this same transaction.
          await syncReplicas(this, tx, next)
        }
        return next
      })
    } finally {
      this.#invalidate(key.multiRegion ? undefined : `${key.region}/${key.keyId}`)
    }
  }

  /**
   * Runs changes to several related keys (a multi-Region key's set) in one transaction, then
   * forgets every cached key: such changes are rare management calls, and the cache need not
   * know which Regions a set spans.
   */
  async changeRelated<T>(fn: (tx: KeyStoreTransaction) => Promise<T>): Promise<T> {
    try {
      return await this.#store.transaction(fn)
    } finally {
      this.#invalidate()
    }
  }

  /**
   * Copies into `to`'s Region, inside `tx`, every stored material of `from` that `to` lacks:
   * unwrapped, then wrapped again for `to` (the wrapping binds Region and key ID), under the
   * same KeyMaterialId, so a ciphertext of either key names a material both hold.
   */
  async copyMaterials(tx: KeyStoreTransaction, from: KeyRecord, to: KeyRecord): Promise<void> {
    const have = new Set(
      (await tx.listKeyMaterials(to.region, to.keyId)).map((m) => m.keyMaterialId),
    )
    for (const stored of await tx.listKeyMaterials(from.region, from.keyId)) {
      if (have.has(stored.keyMaterialId)) continue
      const bytes = await this.#rootKey.unwrap(stored.wrapped, materialContext(stored))
      try {
        await tx.insertKeyMaterial(
          await this.#wrap(to, { keyMaterialId: stored.keyMaterialId, bytes }),
        )
      } finally {
        bytes.fill(0)
      }
    }
  }

  /** `from`'s material-ID secret wrapped for `to`, so both derive the same KeyMaterialIds. */
  async copyMaterialIdKey(
    from: KeyRecord,
    to: Pick<KeyRecord, 'region' | 'keyId'>,
  ): Promise<string> {
    if (!from.materialIdKey) throw new Error(`${from.arn} has no material ID secret`)
    const secret = await this.#rootKey.unwrap(
      Buffer.from(from.materialIdKey, 'base64'),
      materialIdKeyContext(from),
    )
    try {
      return (await this.#rootKey.wrap(secret, materialIdKeyContext(to))).toString('base64')
    } finally {
      secret.fill(0)
    }
  }

  /** Runs alias changes in a transaction and then forgets cached alias targets. */
  async changeAliases<T>(fn: (tx: KeyStoreTransaction) => Promise<T>): Promise<T> {
    try {
      return await this.#store.transaction(fn)
    } finally {
      this.#epoch++
      this.#aliases.clear()
    }
  }

  /**
   * Deletes a key, its materials and aliases when its waiting period has ended (the scheduler
   * calls this). The state is re-read inside the transaction, so a CancelKeyDeletion that
   * committed after the scheduler listed the key wins: the key is then left alone.
   * Returns whether the key was deleted.
   */
  async destroy(region: string, keyId: string): Promise<boolean> {
    // A related key leaves its set in the transaction that deletes it.
    if (keyId.startsWith('mrk-'))
      return destroyRelated(this, { region, keyId, now: this.#clock.now() })
    try {
      return await this.#store.transaction(async (tx) => {
        const current = await tx.getKey(region, keyId)
        const due =
          current?.keyState === 'PendingDeletion' &&
          current.deletionDate !== undefined &&
          current.deletionDate <= this.#clock.now()
        if (due) await tx.deleteKey(region, keyId)
        return due
      })
    } finally {
      this.#invalidate(`${region}/${keyId}`)
      // Its aliases went with it (deleteKey): an alias that named it is not found now.
      this.#aliases.clear()
    }
  }

  /**
   * The grants of `key`, served from memory once read (the authorization hot path asks for
   * them on every call); every grant change made here, and any commit by another process,
   * drops the cached list.
   *
   * @example
   *   const grants = await keys.grantsForKey(key)
   */
  async grantsForKey(key: Pick<KeyRecord, 'region' | 'keyId'>): Promise<readonly GrantRecord[]> {
    const othersWrote = this.#follower.follow()
    if (othersWrote) await othersWrote
    const id = `${key.region}/${key.keyId}`
    const epoch = this.#epoch
    // Kept with the key's entry, so that the cache's bound counts them and they go with it.
    const entry = await this.#cached(key.region, key.keyId)
    if (entry?.grants) return entry.grants
    const grants = Object.freeze(await this.#store.listGrantsOfKey(key.region, key.keyId))
    if (entry && epoch === this.#epoch && this.#keys.get(id) === entry) {
      entry.grants = grants
      this.#keys.grow(
        id,
        grants.reduce((n, g) => n + jsonBytes(g), 0),
      )
    }
    return grants
  }

  /**
   * Creates a grant on `key` in one transaction: `check` runs first on the key as re-read
   * there (its state), then the grants-per-key quota, then Name idempotency: a grant of the
   * key with the same Name and parameters is answered instead of a new one (API Reference,
   * CreateGrant Name). Returns the grant and whether it is new.
   */
  async createGrant(
    key: KeyRecord,
    request: GrantRequest,
    options: { check: (current: KeyRecord) => void },
  ): Promise<{ grant: GrantRecord; created: boolean }> {
    const grantId = this.#random.bytes(32).toString('hex')
    try {
      return await this.#store.transaction(async (tx) => {
        const current = await tx.getKey(key.region, key.keyId)
        if (!current) throw keyNotFound(key.arn)
        options.check(current)
        if (request.name !== undefined) {
          const named = await tx.findGrantsByName(key.region, key.keyId, request.name)
          const same = named.find((g) => sameGrantParameters(g, request))
          if (same) return { grant: same, created: false }
        }
        const count = await tx.countGrants(key.region, key.keyId)
        if (count >= this.quotas.grantsPerKey) {
          throw grantsQuotaExceeded(key.arn, this.quotas.grantsPerKey)
        }
        const grant: GrantRecord = {
          grantId,
          keyId: key.keyId,
          region: key.region,
          accountId: key.accountId,
          ...request,
          issuingAccount: `arn:aws:iam::${key.accountId}:root`,
          creationDate: this.#clock.now(),
        }
        await tx.insertGrant(grant)
        return { grant, created: true }
      })
    } finally {
      this.#invalidate(`${key.region}/${key.keyId}`)
    }
  }

  /** The grant with this ID (any Region, any key); undefined when there is none. */
  findGrant(grantId: string): Promise<GrantRecord | undefined> {
    return this.#store.getGrant(grantId)
  }

  /** Deletes a grant (RetireGrant, RevokeGrant); false when it was already gone. */
  async deleteGrant(grant: Pick<GrantRecord, 'grantId' | 'region' | 'keyId'>): Promise<boolean> {
    try {
      return await this.#store.transaction((tx) => tx.deleteGrant(grant.grantId))
    } finally {
      this.#invalidate(`${grant.region}/${grant.keyId}`)
    }
  }

  /** One page of a key's grants, by ID, optionally filtered (ListGrants). */
  listGrants(
    key: Pick<KeyRecord, 'region' | 'keyId'>,
    page: PageRequest & GrantFilter,
  ): Promise<Page<GrantRecord>> {
    return this.#store.listGrants(key, page)
  }

  /** One page of the grants of a Region that name a retiring principal (ListRetirableGrants). */
  listRetirableGrants(
    query: { region: string; retiringPrincipal: string },
    page: PageRequest,
  ): Promise<Page<GrantRecord>> {
    return this.#store.listRetirableGrants(query, page)
  }

  /** A new token for a grant: every call answers a different one (see grant-token.ts). */
  async issueGrantToken(grantId: string): Promise<string> {
    const secret = await this.#loadGrantTokenKey()
    return issueGrantToken({ secret, grantId, nonce: this.#random.bytes(16) })
  }

  /**
   * The grant ID a token names; InvalidGrantTokenException for a token this Keyward did not
   * issue. Whether the grant still exists is the caller's question.
   */
  async grantIdOfToken(token: string): Promise<string> {
    return grantIdOfToken(token, await this.#loadGrantTokenKey())
  }

  /**
   * The grant-token secret: 32 random bytes made once per database and kept wrapped under the
   * root key in the settings (so tokens outlive restarts and are shared by every worker, and a
   * copy of the database alone cannot mint them).
   */
  #loadGrantTokenKey(): Promise<Buffer> {
    this.#grantTokenKey ??= (async () => {
      let wrapped = await this.#store.getSetting(GRANT_TOKEN_KEY_SETTING)
      if (wrapped === undefined) {
        const fresh = await this.#rootKey.wrap(this.#random.bytes(32), GRANT_TOKEN_KEY_CONTEXT)
        wrapped = await this.#store.initSetting(GRANT_TOKEN_KEY_SETTING, fresh.toString('base64'))
      }
      return this.#rootKey.unwrap(Buffer.from(wrapped, 'base64'), GRANT_TOKEN_KEY_CONTEXT)
    })()
    // A failed load (the store briefly unreachable) is retried by the next call.
    this.#grantTokenKey.catch(() => {
      this.#grantTokenKey = undefined
    })
    return this.#grantTokenKey
  }

  /**
   * The unwrapped material `keyMaterialId` of `key` (default: its current one), cached.
   * Undefined when the key has no such material.
   */
  async sealingKey(
    key: Pick<KeyRecord, 'region' | 'keyId' | 'currentKeyMaterialId'>,
    keyMaterialId = key.currentKeyMaterialId,
  ): Promise<SealingKey | undefined> {
    return this.material(key, keyMaterialId)
  }

  /**
   * The unwrapped material of any kind of key (an AES key, a PKCS #8 private key, an HMAC key
   * or an ML-DSA seed; see KEY_SPECS[spec].material), cached like {@link sealingKey}.
   *
   * @example
   *   const m = await ctx.keys.material(key) // m.material: the PKCS #8 DER of an RSA key
   */
  async material(
    key: Pick<KeyRecord, 'region' | 'keyId' | 'currentKeyMaterialId'>,
    keyMaterialId = key.currentKeyMaterialId,
  ): Promise<SealingKey | undefined> {
    if (!keyMaterialId) return undefined
    const entry = await this.#cached(key.region, key.keyId)
    if (!entry) return undefined
    let material = entry.materials.get(keyMaterialId)
    if (!material) {
      const stored = (await this.#store.listKeyMaterials(key.region, key.keyId)).find(
        (m) => m.keyMaterialId === keyMaterialId,
      )
      if (!stored) return undefined
      material = ownCopy(await this.#rootKey.unwrap(stored.wrapped, materialContext(stored)))
      entry.materials.set(keyMaterialId, material)
      this.#keys.grow(`${key.region}/${key.keyId}`, BUFFER_BYTES + material.length)
    }
    return { keyId: key.keyId, keyMaterialId, material }
  }

  /** A fresh KeyMaterialId: 64 lowercase hex characters, as AWS's. */
  newKeyMaterialId(): string {
    return this.#random.bytes(32).toString('hex')
  }

  /**
   * Wraps `bytes` under the root key as material `keyMaterialId` of `key` and stores it in
   * `tx` (inside a {@link mutate}), replacing the stored copy of the same material if any.
   */
  async storeMaterial(
    tx: KeyStoreTransaction,
    key: KeyRecord,
    material: { keyMaterialId: string; bytes: Buffer },
  ): Promise<void> {
    await tx.putKeyMaterial(await this.#wrap(key, material))
  }

  /** Deletes the stored copy of one material of `key` in `tx` (inside a {@link mutate}). */
  async dropMaterial(tx: KeyStoreTransaction, key: KeyRecord, keyMaterialId: string) {
    await tx.deleteKeyMaterial(key.region, key.keyId, keyMaterialId)
  }

  /**
   * Rotates a symmetric key to fresh material, stored in `tx` (inside a {@link mutate}):
   * RotateKeyOnDemand and the scheduler's rotation job. Returns the rotated record.
   *
   * @example
   *   await keys.mutate(key, (current, tx) => keys.rotateToNewMaterial(tx, current, { type: 'ON_DEMAND' }))
   */
  async rotateToNewMaterial(
    tx: KeyStoreTransaction,
    key: KeyRecord,
    rotation: { type: RotationType },
  ): Promise<KeyRecord> {
    const generated = await generateKeyMaterial(KEY_SPECS[key.keySpec].material, this.#random)
    const keyMaterialId = this.newKeyMaterialId()
    await this.storeMaterial(tx, key, { keyMaterialId, bytes: generated.privateKey })
    return withRotation(key, { keyMaterialId, at: this.#clock.now(), type: rotation.type })
  }

  /**
   * A new secret for the KeyMaterialIds of an EXTERNAL key, wrapped under the root key
   * (base64, for KeyRecord.materialIdKey).
   */
  async newMaterialIdKey(ids: { region: string; keyId: string }): Promise<string> {
    const wrapped = await this.#rootKey.wrap(this.#random.bytes(32), materialIdKeyContext(ids))
    return wrapped.toString('base64')
  }

  /**
   * The KeyMaterialId of imported material: HMAC-SHA256 over `identity` (the material of a
   * secret key; the public key of a key pair) under the key's own secret. AWS "assigns a unique
   * identifier to the key material based on the KMS key ID and the imported key material"
   * (API Reference, ImportKeyMaterial, KeyMaterialId): importing the same material again gives
   * the same ID, so its old ciphertexts find it again. The secret matters: an ID computed by a
   * public function (a hash, or an HMAC keyed by the public key ARN) would let anyone who may
   * read KeyMaterialIds test guesses of the material offline.
   */
  async importedMaterialId(key: KeyRecord, identity: Buffer): Promise<string> {
    if (!key.materialIdKey) throw new Error(`${key.arn} has no material ID secret`)
    const secret = await this.#rootKey.unwrap(
      Buffer.from(key.materialIdKey, 'base64'),
      materialIdKeyContext(key),
    )
    try {
      return createHmac('sha256', secret)
        .update('keyward imported key material id v1')
        .update(identity)
        .digest('hex')
    } finally {
      secret.fill(0)
    }
  }

  /** An ImportToken: the parameters sealed under the root key, bound to the key's ARN. */
  async sealImportToken(parameters: ImportParameters): Promise<Buffer> {
    return this.#rootKey.wrap(
      encodeImportParameters(parameters),
      importTokenContext(parameters.keyArn),
    )
  }

  /**
   * The parameters inside an ImportToken issued for `keyArn`; undefined when the token was not
   * issued by this Keyward for this key, or was altered.
   */
  async openImportToken(token: Buffer, keyArn: string): Promise<ImportParameters | undefined> {
    let plaintext: Buffer
    try {
      plaintext = await this.#rootKey.unwrap(token, importTokenContext(keyArn))
    } catch {
      return undefined
    }
    const parameters = decodeImportParameters(plaintext)
    return parameters?.keyArn === keyArn ? parameters : undefined
  }

  /**
   * Notes a successful cryptographic use of a key. Kept in memory and written by
   * {@link KeyService.saveKeyUses} (every few seconds and at shutdown), so that Encrypt does not
   * write to the disk; a crash loses at most those seconds of last-use tracking, never a key.
   */
  recordKeyUse(use: KeyUsageRecord): void {
    const id = `${use.region}/${use.keyId}`
    const known = this.#unsavedUses.get(id)
    if (!known || known.usedAt <= use.usedAt) this.#unsavedUses.set(id, use)
  }

  /**
   * Writes the noted uses to the store (a later use stored by another worker wins), in
   * batches of at most {@link KEY_USE_BATCH} rows with a turn of the event loop between them:
   * a SQLite statement runs synchronously, so one transaction of every key used in 5 s at
   * random-key load (20–29k rows) held every request for about a second (issue 13). A failed
   * batch puts itself and the rest back for the next call.
   */
  async saveKeyUses(): Promise<void> {
    if (this.#unsavedUses.size === 0) return
    const saving = this.#unsavedUses
    this.#unsavedUses = new Map()
    // GetKeyLastUsage still sees them until the last batch is written.
    this.#savingUses.add(saving)
    const uses = [...saving.values()]
    try {
      for (let start = 0; start < uses.length; start += KEY_USE_BATCH) {
        if (start > 0) await yieldToEventLoop()
        try {
          await this.#store.recordKeyUsage(uses.slice(start, start + KEY_USE_BATCH))
        } catch (error) {
          for (const use of uses.slice(start)) this.recordKeyUse(use)
          throw error
        }
      }
    } finally {
      this.#savingUses.delete(saving)
    }
  }

  /** The latest use of a key: the later of the stored one and one not yet saved. */
  async lastKeyUse(region: string, keyId: string): Promise<KeyUsageRecord | undefined> {
    const id = `${region}/${keyId}`
    let latest = await this.#store.getKeyUsage(region, keyId)
    for (const uses of [this.#unsavedUses, ...this.#savingUses]) {
      const use = uses.get(id)
      if (use && (!latest || use.usedAt > latest.usedAt)) latest = use
    }
    return latest
  }

  /** Forgets every cached record and material (tests; after a restore). */
  clearCache(): void {
    this.forgetAll()
  }
}
