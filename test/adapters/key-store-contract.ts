import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { afterEach, describe, it } from 'node:test'
import type { CustomKeyStoreRecord } from '../../src/domain/custom-key-store.js'
import type { GrantRecord } from '../../src/domain/grant.js'
import type { Scope } from '../../src/domain/identifiers.js'
import type { KeyMaterialRecord, KeyRecord } from '../../src/domain/key.js'
import type { AliasRecord, KeyStore } from '../../src/ports/key-store.js'

/**
 * The KeyStore contract: what every storage adapter must do, run unchanged against each one
 * (SQLite file, SQLite in memory, and PostgreSQL when it exists). Each test opens a fresh,
 * empty store.
 */

const ACCOUNT = '111122223333'
const OTHER_ACCOUNT = '444455556666'
const HOME: Scope = { accountId: ACCOUNT, region: 'us-east-1' }
const T0 = Date.parse('2026-01-01T00:00:00Z')
const DAY = 86_400_000

/** A key record as CreateKey would store it. */
export function keyFixture(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const keyId = overrides.keyId ?? randomUUID()
  const region = overrides.region ?? HOME.region
  const accountId = overrides.accountId ?? HOME.accountId
  return {
    schemaVersion: 1,
    keyId,
    accountId,
    region,
    arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}`,
    creationDate: T0,
    keyState: 'Enabled',
    description: '',
    keyUsage: 'ENCRYPT_DECRYPT',
    keySpec: 'SYMMETRIC_DEFAULT',
    origin: 'AWS_KMS',
    keyManager: 'CUSTOMER',
    multiRegion: false,
    policy: '{"Version":"2012-10-17","Statement":[]}',
    tags: [{ TagKey: 'team', TagValue: 'crypto' }],
    currentKeyMaterialId: 'a'.repeat(64),
    ...overrides,
  }
}

const materialFixture = (
  key: KeyRecord,
  overrides: Partial<KeyMaterialRecord> = {},
): KeyMaterialRecord => ({
  region: key.region,
  keyId: key.keyId,
  keyMaterialId: 'a'.repeat(64),
  createdAt: T0,
  wrapped: Buffer.from([1, 2, 3, 4, 5, 0, 255]),
  ...overrides,
})

const aliasFixture = (key: KeyRecord, aliasName: string, at = T0): AliasRecord => ({
  accountId: key.accountId,
  region: key.region,
  aliasName,
  targetKeyId: key.keyId,
  creationDate: at,
  lastUpdatedDate: at,
})

/** A grant as CreateGrant would store it; IDs sort by their first character. */
const grantFixture = (key: KeyRecord, overrides: Partial<GrantRecord> = {}): GrantRecord => ({
  grantId: randomUUID().replaceAll('-', '').padEnd(64, '0'),
  keyId: key.keyId,
  region: key.region,
  accountId: key.accountId,
  granteePrincipal: `arn:aws:iam::${key.accountId}:role/app`,
  operations: ['Encrypt', 'Decrypt'],
  issuingAccount: `arn:aws:iam::${key.accountId}:root`,
  creationDate: T0,
  ...overrides,
})

/** Key IDs in ascending order, for listing tests (UUIDs sort as text). */
const orderedKeyIds = (n: number) =>
  Array.from({ length: n }, (_, i) => `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`)

/** What a writer process of the two-process race is asked to do. */
export interface WriterRequest {
  /** Four hex digits that start the IDs of the keys it creates (see {@link writerKeyId}). */
  readonly prefix: string
  readonly count: number
  /** The key whose description every mutation extends (a shared counter). */
  readonly counter: { readonly region: string; readonly keyId: string }
}

/** What a writer process reports when it is done. */
export interface WriterReport {
  readonly errors: readonly string[]
}

/** The key ID of the `i`-th key a writer with `prefix` creates (a valid lowercase UUID). */
export const writerKeyId = (prefix: string, i: number): string =>
  `${prefix}${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`

/**
 * The writer side of the two-process race, run inside a writer process: `count` transactions
 * started at once, each reading the shared counter key, yielding (as a handler with checks
 * does between its read and its write), then extending the counter and inserting a key of its
 * own. Every failure is reported, none thrown.
 *
 * @example
 *   const report = await runWriter(store, { prefix: 'aaaa', count: 100, counter })
 */
export async function runWriter(store: KeyStore, req: WriterRequest): Promise<WriterReport> {
  const errors: string[] = []
  await Promise.all(
    Array.from({ length: req.count }, (_, i) =>
      store
        .transaction(async (tx) => {
          const current = (await tx.getKey(req.counter.region, req.counter.keyId))!
          await new Promise((resolve) => setImmediate(resolve))
          await tx.updateKey({ ...current, description: `${current.description}x` })
          await tx.insertKey(keyFixture({ keyId: writerKeyId(req.prefix, i) }))
        })
        .catch((error: unknown) => {
          errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
        }),
    ),
  )
  return { errors }
}

/**
 * Another OS process on the same store: a fresh store, and a way to start a writer process on
 * it (one that runs {@link runWriter} when it receives 'go' and sends back its
 * {@link WriterReport}; see test/adapters/sqlite-writer-process.ts).
 */
export type SharedStoreFactory = () => Promise<{
  store: KeyStore
  startWriter: (req: WriterRequest) => ChildProcess
}>

/**
 * Runs the KeyStore contract against stores made by `open`. `options.shared` enables the
 * two-process writer race, for adapters whose storage other processes can open.
 *
 * @example
 *   runKeyStoreContract('SQLite in memory', () => openSqliteKeyStore(':memory:'))
 */
export function runKeyStoreContract(
  name: string,
  open: () => Promise<KeyStore>,
  options: { shared?: SharedStoreFactory } = {},
): void {
  describe(`KeyStore contract: ${name}`, () => {
    const opened: KeyStore[] = []
    const fresh = async () => {
      const store = await open()
      opened.push(store)
      return store
    }
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close().catch(() => undefined)
    })

    describe('custom key stores', () => {
      const storeFixture = (overrides: Partial<CustomKeyStoreRecord> = {}) =>
        ({
          schemaVersion: 1,
          customKeyStoreId: 'cks-1234567890abcdef0',
          accountId: ACCOUNT,
          region: 'us-east-1',
          name: 'store',
          customKeyStoreType: 'AWS_CLOUDHSM',
          cloudHsmClusterId: 'cluster-aaaaaaaaaaa',
          trustAnchorCertificate: 'PEM',
          wrappedPassword: 'd3JhcHBlZA==',
          creationDate: T0,
          connectionState: 'DISCONNECTED',
          ...overrides,
        }) as CustomKeyStoreRecord

      it('stores, finds by ID, name and cluster, updates and deletes a store', async () => {
        const store = await fresh()
        const record = storeFixture()
        await store.insertCustomKeyStore(record)
        assert.deepEqual(
          await store.getCustomKeyStore('us-east-1', record.customKeyStoreId),
          record,
        )
        assert.equal(await store.getCustomKeyStore('eu-west-1', record.customKeyStoreId), undefined)
        assert.deepEqual(await store.findCustomKeyStoreByName(HOME, 'store'), record)
        assert.equal(
          await store.findCustomKeyStoreByName({ ...HOME, accountId: OTHER_ACCOUNT }, 'store'),
          undefined,
        )
        assert.deepEqual(await store.findCustomKeyStoreByCluster('cluster-aaaaaaaaaaa'), record)
        const connected = storeFixture({ connectionState: 'CONNECTED', name: 'renamed' })
        await store.updateCustomKeyStore(connected)
        assert.deepEqual(
          await store.getCustomKeyStore('us-east-1', record.customKeyStoreId),
          connected,
        )
        assert.equal(await store.findCustomKeyStoreByName(HOME, 'store'), undefined)
        assert.equal(await store.countCustomKeyStores(HOME), 1)
        assert.deepEqual(await store.listAllCustomKeyStores(), [connected])
        await store.deleteCustomKeyStore('us-east-1', record.customKeyStoreId)
        assert.equal(await store.getCustomKeyStore('us-east-1', record.customKeyStoreId), undefined)
        assert.equal(await store.countCustomKeyStores(HOME), 0)
      })

      it("stores external key stores (no cluster) beside CloudHSM ones, and lists an account's", async () => {
        const store = await fresh()
        const external = (id: string, name: string) =>
          ({
            schemaVersion: 1,
            customKeyStoreId: id,
            accountId: ACCOUNT,
            region: 'us-east-1',
            name,
            customKeyStoreType: 'EXTERNAL_KEY_STORE',
            xksProxy: {
              connectivity: 'PUBLIC_ENDPOINT',
              uriEndpoint: 'https://xks.example.com',
              uriPath: `/${name}/kms/xks/v1`,
              accessKeyId: 'ABCDEFGHIJKLMNOPQRST',
              wrappedSecret: 'd3JhcHBlZA==',
            },
            creationDate: T0,
            connectionState: 'DISCONNECTED',
          }) as CustomKeyStoreRecord
        const hsm = storeFixture()
        await store.insertCustomKeyStore(hsm)
        await store.insertCustomKeyStore(external('cks-00000000000000002', 'x2'))
        await store.insertCustomKeyStore(external('cks-00000000000000001', 'x1'))
        await store.insertCustomKeyStore({
          ...external('cks-00000000000000003', 'x3'),
          accountId: OTHER_ACCOUNT,
        })
        assert.deepEqual(
          (await store.listCustomKeyStoresOf(HOME)).map((s) => s.customKeyStoreId),
          ['cks-00000000000000001', 'cks-00000000000000002', hsm.customKeyStoreId],
        )
        assert.deepEqual(
          await store.getCustomKeyStore('us-east-1', 'cks-00000000000000001'),
          external('cks-00000000000000001', 'x1'),
        )
      })

      it('lists the keys that live in a store', async () => {
        const store = await fresh()
        const inStore = (keyId: string) => ({
          ...keyFixture({ keyId }),
          customKeyStoreId: 'cks-1234567890abcdef0',
        })
        await store.insertKey(inStore('22222222-2222-4222-8222-222222222222'))
        await store.insertKey(inStore('11111111-1111-4111-8111-111111111111'))
        await store.insertKey(keyFixture({ keyId: '33333333-3333-4333-8333-333333333333' }))
        assert.deepEqual(
          (await store.listKeysInCustomKeyStore('us-east-1', 'cks-1234567890abcdef0')).map(
            (k) => k.keyId,
          ),
          ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'],
        )
        assert.deepEqual(
          await store.listKeysInCustomKeyStore('eu-west-1', 'cks-1234567890abcdef0'),
          [],
        )
      })

      it('refuses a second store with the same name in an account and Region', async () => {
        const store = await fresh()
        await store.insertCustomKeyStore(storeFixture())
        await assert.rejects(
          store.insertCustomKeyStore(
            storeFixture({
              customKeyStoreId: 'cks-2222222222222222a',
              cloudHsmClusterId: 'cluster-bbbbbbbbbbb',
            }),
          ),
        )
      })

      it('lists the stores of one account and Region by ID, page by page', async () => {
        const store = await fresh()
        const ids = ['cks-00000000000000003', 'cks-00000000000000001', 'cks-00000000000000002']
        for (const [i, id] of ids.entries()) {
          await store.insertCustomKeyStore(
            storeFixture({
              customKeyStoreId: id,
              name: `s${i}`,
              cloudHsmClusterId: `cluster-${'abc'[i]!.repeat(11)}`,
            }),
          )
        }
        await store.insertCustomKeyStore(
          storeFixture({
            customKeyStoreId: 'cks-00000000000000000',
            accountId: OTHER_ACCOUNT,
            cloudHsmClusterId: 'cluster-ddddddddddd',
          }),
        )
        const first = await store.listCustomKeyStores(HOME, { limit: 2 })
        assert.deepEqual(
          first.items.map((s) => s.customKeyStoreId),
          [ids[1], ids[2]],
        )
        assert.equal(first.truncated, true)
        const rest = await store.listCustomKeyStores(HOME, { limit: 2, after: ids[2] })
        assert.deepEqual(
          rest.items.map((s) => s.customKeyStoreId),
          [ids[0]],
        )
        assert.equal(rest.truncated, false)
      })

      it('counts the keys that live in a store', async () => {
        const store = await fresh()
        await store.insertKey(keyFixture({ customKeyStoreId: 'cks-1234567890abcdef0' }))
        await store.insertKey(keyFixture())
        assert.equal(await store.countKeysInCustomKeyStore('us-east-1', 'cks-1234567890abcdef0'), 1)
        assert.equal(await store.countKeysInCustomKeyStore('eu-west-1', 'cks-1234567890abcdef0'), 0)
      })
    })

    describe('keys', () => {
      it('counts the keys of one account and Region, in every state (the keys quota)', async () => {
        const store = await fresh()
        assert.equal(await store.countKeys(HOME), 0)
        await store.insertKey(keyFixture())
        await store.insertKey(keyFixture({ keyState: 'PendingDeletion', deletionDate: T0 + DAY }))
        await store.insertKey(keyFixture({ region: 'eu-west-1' }))
        await store.insertKey(keyFixture({ accountId: OTHER_ACCOUNT }))
        const counted = await store.transaction((tx) => tx.countKeys(HOME))
        assert.equal(counted, 2)
        assert.equal(await store.countKeys({ accountId: ACCOUNT, region: 'eu-west-1' }), 1)
      })

      it('stores a key and reads back the same record', async () => {
        const store = await fresh()
        const key = keyFixture({ description: 'ünïcödé ✓ \u0000 "quoted"' })
        await store.insertKey(key)
        assert.deepEqual(await store.getKey(key.region, key.keyId), key)
      })

      it('answers undefined for an unknown key, and for a known key in another Region', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        assert.equal(await store.getKey(key.region, randomUUID()), undefined)
        assert.equal(await store.getKey('eu-west-1', key.keyId), undefined)
      })

      it('refuses a second key with the same ID in one Region, and keeps the first', async () => {
        const store = await fresh()
        const key = keyFixture({ description: 'first' })
        await store.insertKey(key)
        await assert.rejects(store.insertKey({ ...key, description: 'second' }))
        assert.equal((await store.getKey(key.region, key.keyId))?.description, 'first')
      })

      it('keeps keys with the same ID in two Regions apart', async () => {
        const store = await fresh()
        const east = keyFixture({ description: 'east' })
        const west = keyFixture({ keyId: east.keyId, region: 'eu-west-1', description: 'west' })
        await store.insertKey(east)
        await store.insertKey(west)
        assert.equal((await store.getKey('us-east-1', east.keyId))?.description, 'east')
        assert.equal((await store.getKey('eu-west-1', east.keyId))?.description, 'west')
      })

      it('replaces a record with updateKey, and touches no other key', async () => {
        const store = await fresh()
        const key = keyFixture()
        const other = keyFixture()
        await store.insertKey(key)
        await store.insertKey(other)
        const changed: KeyRecord = {
          ...key,
          keyState: 'PendingDeletion',
          deletionDate: T0 + 7 * DAY,
          description: 'going away',
        }
        await store.updateKey(changed)
        assert.deepEqual(await store.getKey(key.region, key.keyId), changed)
        assert.deepEqual(await store.getKey(other.region, other.keyId), other)
      })

      it('deletes a key with its materials and the aliases that point at it', async () => {
        const store = await fresh()
        const key = keyFixture()
        const kept = keyFixture()
        await store.insertKey(key)
        await store.insertKey(kept)
        await store.insertKeyMaterial(materialFixture(key))
        await store.insertKeyMaterial(materialFixture(kept))
        assert.equal(await store.insertAlias(aliasFixture(key, 'alias/doomed-1')), true)
        assert.equal(await store.insertAlias(aliasFixture(key, 'alias/doomed-2')), true)
        assert.equal(await store.insertAlias(aliasFixture(kept, 'alias/kept')), true)

        await store.deleteKey(key.region, key.keyId)

        assert.equal(await store.getKey(key.region, key.keyId), undefined)
        assert.deepEqual(await store.listKeyMaterials(key.region, key.keyId), [])
        assert.equal(await store.getAlias(HOME, 'alias/doomed-1'), undefined)
        assert.equal(await store.getAlias(HOME, 'alias/doomed-2'), undefined)
        assert.equal(await store.countAliases(key.region, key.keyId), 0)
        assert.deepEqual(await store.getKey(kept.region, kept.keyId), kept)
        assert.equal((await store.listKeyMaterials(kept.region, kept.keyId)).length, 1)
        assert.equal((await store.getAlias(HOME, 'alias/kept'))?.targetKeyId, kept.keyId)
      })

      it('deletes only the key of the given Region', async () => {
        const store = await fresh()
        const east = keyFixture()
        const west = keyFixture({ keyId: east.keyId, region: 'eu-west-1' })
        await store.insertKey(east)
        await store.insertKey(west)
        await store.insertKeyMaterial(materialFixture(west))
        await store.insertAlias(aliasFixture(west, 'alias/west'))
        await store.deleteKey('us-east-1', east.keyId)
        assert.deepEqual(await store.getKey('eu-west-1', east.keyId), west)
        assert.equal((await store.listKeyMaterials('eu-west-1', east.keyId)).length, 1)
        assert.equal(
          (await store.getAlias({ accountId: ACCOUNT, region: 'eu-west-1' }, 'alias/west'))
            ?.targetKeyId,
          east.keyId,
        )
      })
    })

    describe('key materials', () => {
      it('lists a key’s materials oldest first, byte for byte', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        const newer = materialFixture(key, {
          keyMaterialId: '0'.repeat(64),
          createdAt: T0 + DAY,
          wrapped: Buffer.alloc(61, 0x42),
        })
        const older = materialFixture(key, { keyMaterialId: 'f'.repeat(64), createdAt: T0 })
        await store.insertKeyMaterial(newer)
        await store.insertKeyMaterial(older)
        const listed = await store.listKeyMaterials(key.region, key.keyId)
        assert.deepEqual(
          listed.map((m) => m.keyMaterialId),
          [older.keyMaterialId, newer.keyMaterialId],
        )
        assert.ok(Buffer.isBuffer(listed[1]!.wrapped))
        assert.deepEqual(listed[0], older)
        assert.deepEqual(listed[1], newer)
      })

      it('refuses a second material with the same ID for one key', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        await store.insertKeyMaterial(materialFixture(key))
        await assert.rejects(
          store.insertKeyMaterial(materialFixture(key, { wrapped: Buffer.from('other') })),
        )
        const listed = await store.listKeyMaterials(key.region, key.keyId)
        assert.deepEqual(listed, [materialFixture(key)])
      })
    })

    describe('key materials: replace and delete', () => {
      it('putKeyMaterial inserts a new material and replaces a stored one, byte for byte', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        const first = materialFixture(key)
        await store.putKeyMaterial(first)
        assert.deepEqual(await store.listKeyMaterials(key.region, key.keyId), [first])
        const again = { ...first, createdAt: T0 + DAY, wrapped: Buffer.from('rewrapped') }
        await store.putKeyMaterial(again)
        assert.deepEqual(await store.listKeyMaterials(key.region, key.keyId), [again])
      })

      it('deletes one material of one key and leaves the others', async () => {
        const store = await fresh()
        const key = keyFixture()
        const other = keyFixture({ keyId: key.keyId, region: 'eu-west-1' })
        await store.insertKey(key)
        await store.insertKey(other)
        const gone = materialFixture(key, { keyMaterialId: '1'.repeat(64) })
        const kept = materialFixture(key, { keyMaterialId: '2'.repeat(64), createdAt: T0 + DAY })
        const elsewhere = materialFixture(other, { keyMaterialId: '1'.repeat(64) })
        for (const m of [gone, kept, elsewhere]) await store.insertKeyMaterial(m)
        await store.deleteKeyMaterial(key.region, key.keyId, gone.keyMaterialId)
        assert.deepEqual(await store.listKeyMaterials(key.region, key.keyId), [kept])
        assert.deepEqual(await store.listKeyMaterials(other.region, other.keyId), [elsewhere])
        // Deleting what is not there changes nothing.
        await store.deleteKeyMaterial(key.region, key.keyId, gone.keyMaterialId)
        assert.deepEqual(await store.listKeyMaterials(key.region, key.keyId), [kept])
      })

      it('rolls back a material deletion with its transaction', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        await store.insertKeyMaterial(materialFixture(key))
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.deleteKeyMaterial(key.region, key.keyId, 'a'.repeat(64))
            await tx.putKeyMaterial(materialFixture(key, { keyMaterialId: 'b'.repeat(64) }))
            throw new Error('undo')
          }),
          /undo/,
        )
        assert.deepEqual(await store.listKeyMaterials(key.region, key.keyId), [
          materialFixture(key),
        ])
      })
    })

    describe('aliases', () => {
      it('inserts an alias and reads it back', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        const alias = aliasFixture(key, 'alias/app/prod')
        assert.equal(await store.insertAlias(alias), true)
        assert.deepEqual(await store.getAlias(HOME, 'alias/app/prod'), alias)
      })

      it('answers false for a taken name and leaves the alias as it was', async () => {
        const store = await fresh()
        const first = keyFixture()
        const second = keyFixture()
        await store.insertKey(first)
        await store.insertKey(second)
        assert.equal(await store.insertAlias(aliasFixture(first, 'alias/taken')), true)
        assert.equal(await store.insertAlias(aliasFixture(second, 'alias/taken', T0 + DAY)), false)
        assert.deepEqual(
          await store.getAlias(HOME, 'alias/taken'),
          aliasFixture(first, 'alias/taken'),
        )
      })

      it('scopes alias names by account and Region', async () => {
        const store = await fresh()
        const home = keyFixture()
        const otherAccount = keyFixture({ accountId: OTHER_ACCOUNT })
        const otherRegion = keyFixture({ region: 'eu-west-1' })
        for (const k of [home, otherAccount, otherRegion]) {
          await store.insertKey(k)
          assert.equal(await store.insertAlias(aliasFixture(k, 'alias/shared-name')), true)
        }
        assert.equal((await store.getAlias(HOME, 'alias/shared-name'))?.targetKeyId, home.keyId)
        assert.equal(
          (
            await store.getAlias(
              { accountId: OTHER_ACCOUNT, region: 'us-east-1' },
              'alias/shared-name',
            )
          )?.targetKeyId,
          otherAccount.keyId,
        )
        assert.equal(
          (await store.getAlias({ accountId: ACCOUNT, region: 'eu-west-1' }, 'alias/shared-name'))
            ?.targetKeyId,
          otherRegion.keyId,
        )
      })

      it('points an alias elsewhere with updateAlias, keeping its creation date', async () => {
        const store = await fresh()
        const from = keyFixture()
        const to = keyFixture()
        await store.insertKey(from)
        await store.insertKey(to)
        await store.insertAlias(aliasFixture(from, 'alias/moving'))
        await store.updateAlias({
          ...aliasFixture(to, 'alias/moving', T0 + DAY),
          creationDate: T0 + 5 * DAY,
        })
        assert.deepEqual(await store.getAlias(HOME, 'alias/moving'), {
          ...aliasFixture(to, 'alias/moving'),
          lastUpdatedDate: T0 + DAY,
        })
        assert.equal(await store.countAliases(from.region, from.keyId), 0)
        assert.equal(await store.countAliases(to.region, to.keyId), 1)
      })

      it('deletes one alias', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        await store.insertAlias(aliasFixture(key, 'alias/a'))
        await store.insertAlias(aliasFixture(key, 'alias/b'))
        await store.deleteAlias(HOME, 'alias/a')
        assert.equal(await store.getAlias(HOME, 'alias/a'), undefined)
        assert.ok(await store.getAlias(HOME, 'alias/b'))
        assert.equal(await store.countAliases(key.region, key.keyId), 1)
      })
    })

    describe('listings', () => {
      it('lists keys of one account and Region in key ID order, page by page', async () => {
        const store = await fresh()
        const ids = orderedKeyIds(5)
        // Inserted out of order, with keys of another account and Region around them.
        for (const keyId of [ids[3]!, ids[0]!, ids[4]!, ids[2]!, ids[1]!]) {
          await store.insertKey(keyFixture({ keyId }))
        }
        await store.insertKey(keyFixture({ accountId: OTHER_ACCOUNT }))
        await store.insertKey(keyFixture({ region: 'eu-west-1' }))

        const first = await store.listKeys(HOME, { limit: 2 })
        assert.deepEqual(
          first.items.map((k) => k.keyId),
          ids.slice(0, 2),
        )
        assert.equal(first.truncated, true)
        const second = await store.listKeys(HOME, { limit: 2, after: ids[1]! })
        assert.deepEqual(
          second.items.map((k) => k.keyId),
          ids.slice(2, 4),
        )
        assert.equal(second.truncated, true)
        const last = await store.listKeys(HOME, { limit: 2, after: ids[3]! })
        assert.deepEqual(
          last.items.map((k) => k.keyId),
          [ids[4]],
        )
        assert.equal(last.truncated, false)
        const exact = await store.listKeys(HOME, { limit: 5 })
        assert.equal(exact.items.length, 5)
        assert.equal(exact.truncated, false)
        assert.deepEqual(exact.items[0], keyFixture({ keyId: ids[0]! }))
      })

      it('lists nothing for an empty scope', async () => {
        const store = await fresh()
        assert.deepEqual(await store.listKeys(HOME, { limit: 10 }), { items: [], truncated: false })
        assert.deepEqual(await store.listAliases(HOME, { limit: 10 }), {
          items: [],
          truncated: false,
        })
      })

      it('lists aliases in name order, page by page, and by target key', async () => {
        const store = await fresh()
        const a = keyFixture()
        const b = keyFixture()
        await store.insertKey(a)
        await store.insertKey(b)
        for (const [key, name] of [
          [a, 'alias/c'],
          [b, 'alias/a'],
          [a, 'alias/b'],
          [b, 'alias/d'],
        ] as const) {
          await store.insertAlias(aliasFixture(key, name))
        }
        await store.insertAlias(aliasFixture(keyFixture({ region: 'eu-west-1' }), 'alias/e'))

        const first = await store.listAliases(HOME, { limit: 3 })
        assert.deepEqual(
          first.items.map((x) => x.aliasName),
          ['alias/a', 'alias/b', 'alias/c'],
        )
        assert.equal(first.truncated, true)
        const rest = await store.listAliases(HOME, { limit: 3, after: 'alias/c' })
        assert.deepEqual(
          rest.items.map((x) => x.aliasName),
          ['alias/d'],
        )
        assert.equal(rest.truncated, false)

        const ofA = await store.listAliases(HOME, { limit: 1, keyId: a.keyId })
        assert.deepEqual(
          ofA.items.map((x) => x.aliasName),
          ['alias/b'],
        )
        assert.equal(ofA.truncated, true)
        const ofAMore = await store.listAliases(HOME, {
          limit: 1,
          keyId: a.keyId,
          after: 'alias/b',
        })
        assert.deepEqual(
          ofAMore.items.map((x) => x.aliasName),
          ['alias/c'],
        )
        assert.equal(ofAMore.truncated, false)
        assert.deepEqual(ofAMore.items[0], aliasFixture(a, 'alias/c'))
      })

      it('finds the keys whose deletion date has come, in any account or Region', async () => {
        const store = await fresh()
        const due = keyFixture({ keyState: 'PendingDeletion', deletionDate: T0 + 7 * DAY })
        const dueElsewhere = keyFixture({
          accountId: OTHER_ACCOUNT,
          region: 'eu-west-1',
          keyState: 'PendingDeletion',
          deletionDate: T0 + 3 * DAY,
        })
        const later = keyFixture({ keyState: 'PendingDeletion', deletionDate: T0 + 30 * DAY })
        const alive = keyFixture()
        for (const k of [due, dueElsewhere, later, alive]) await store.insertKey(k)

        const sort = (xs: Array<{ region: string; keyId: string }>) =>
          [...xs].sort((x, y) => x.keyId.localeCompare(y.keyId))
        assert.deepEqual(await store.listKeysDueForDeletion(T0 + 7 * DAY - 1), [
          { region: 'eu-west-1', keyId: dueElsewhere.keyId },
        ])
        assert.deepEqual(
          sort(await store.listKeysDueForDeletion(T0 + 7 * DAY)),
          sort([
            { region: 'us-east-1', keyId: due.keyId },
            { region: 'eu-west-1', keyId: dueElsewhere.keyId },
          ]),
        )

        // CancelKeyDeletion clears the date: the key is no longer due.
        await store.updateKey({ ...due, keyState: 'Disabled', deletionDate: undefined })
        assert.deepEqual(await store.listKeysDueForDeletion(T0 + 7 * DAY), [
          { region: 'eu-west-1', keyId: dueElsewhere.keyId },
        ])
      })
    })

    describe('scheduled work', () => {
      const sort = (xs: Array<{ region: string; keyId: string }>) =>
        [...xs].sort((x, y) => x.keyId.localeCompare(y.keyId))

      it('finds the Enabled keys whose rotation date has come, in any account or Region', async () => {
        const store = await fresh()
        const rotating = { rotationPeriodInDays: 90 }
        const due = keyFixture({ ...rotating, nextRotationDate: T0 + 90 * DAY })
        const dueElsewhere = keyFixture({
          ...rotating,
          accountId: OTHER_ACCOUNT,
          region: 'eu-west-1',
          nextRotationDate: T0 + 10 * DAY,
        })
        const later = keyFixture({ ...rotating, nextRotationDate: T0 + 100 * DAY })
        // Disabled keys and keys pending deletion are not rotated (they may come back).
        const disabled = keyFixture({ ...rotating, keyState: 'Disabled', nextRotationDate: T0 })
        const doomed = keyFixture({
          ...rotating,
          keyState: 'PendingDeletion',
          deletionDate: T0 + 7 * DAY,
          nextRotationDate: T0,
        })
        const notRotating = keyFixture()
        for (const k of [due, dueElsewhere, later, disabled, doomed, notRotating]) {
          await store.insertKey(k)
        }
        assert.deepEqual(await store.listKeysDueForRotation(T0 + 90 * DAY - 1), [
          { region: 'eu-west-1', keyId: dueElsewhere.keyId },
        ])
        assert.deepEqual(
          sort(await store.listKeysDueForRotation(T0 + 90 * DAY)),
          sort([
            { region: 'us-east-1', keyId: due.keyId },
            { region: 'eu-west-1', keyId: dueElsewhere.keyId },
          ]),
        )
        // The date follows the record: a rotation (or DisableKeyRotation) moves or clears it.
        await store.updateKey({ ...due, nextRotationDate: T0 + 180 * DAY })
        await store.updateKey({
          ...dueElsewhere,
          rotationPeriodInDays: undefined,
          nextRotationDate: undefined,
        })
        assert.deepEqual(await store.listKeysDueForRotation(T0 + 90 * DAY), [])
        // Enabling the disabled key makes it due again.
        await store.updateKey({ ...disabled, keyState: 'Enabled' })
        assert.deepEqual(await store.listKeysDueForRotation(T0 + 90 * DAY), [
          { region: 'us-east-1', keyId: disabled.keyId },
        ])
      })

      it('finds the keys left in a transient state (Creating, Updating), in any Region', async () => {
        const store = await fresh()
        const creating = keyFixture({
          keyState: 'Creating',
          settlesTo: 'Enabled',
          region: 'eu-west-1',
        })
        const updating = keyFixture({ keyState: 'Updating', settlesTo: 'Enabled' })
        const settled = keyFixture()
        for (const k of [creating, updating, settled]) await store.insertKey(k)
        assert.deepEqual(
          sort(await store.listKeysInTransientStates()),
          sort([
            { region: 'eu-west-1', keyId: creating.keyId },
            { region: 'us-east-1', keyId: updating.keyId },
          ]),
        )
        const { settlesTo: _s, ...rest } = creating
        await store.updateKey({ ...rest, keyState: 'Enabled' })
        assert.deepEqual(await store.listKeysInTransientStates(), [
          { region: 'us-east-1', keyId: updating.keyId },
        ])
      })

      it('finds the keys with imported material whose ValidTo has passed', async () => {
        const store = await fresh()
        const imported = (
          validTo: number | undefined,
          importState: 'IMPORTED' | 'PENDING_IMPORT',
        ) => ({
          importState,
          ...(validTo === undefined
            ? { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const }
            : { expirationModel: 'KEY_MATERIAL_EXPIRES' as const, validTo }),
        })
        const external = (materials: KeyRecord['materials']) =>
          keyFixture({
            origin: 'EXTERNAL',
            materials,
            currentKeyMaterialId: materials![0]!.keyMaterialId,
          })
        const expiring = external([
          {
            keyMaterialId: '1'.repeat(64),
            createdAt: T0,
            imported: imported(T0 + 30 * DAY, 'IMPORTED'),
          },
          // The earliest ValidTo of all its imported materials counts.
          {
            keyMaterialId: '2'.repeat(64),
            createdAt: T0,
            imported: imported(T0 + 5 * DAY, 'IMPORTED'),
          },
        ])
        const forever = external([
          {
            keyMaterialId: '3'.repeat(64),
            createdAt: T0,
            imported: imported(undefined, 'IMPORTED'),
          },
        ])
        const alreadyGone = external([
          {
            keyMaterialId: '4'.repeat(64),
            createdAt: T0,
            imported: { importState: 'PENDING_IMPORT' },
          },
        ])
        for (const k of [expiring, forever, alreadyGone, keyFixture()]) await store.insertKey(k)
        assert.deepEqual(await store.listKeysWithExpiredMaterial(T0 + 5 * DAY - 1), [])
        assert.deepEqual(await store.listKeysWithExpiredMaterial(T0 + 5 * DAY), [
          { region: 'us-east-1', keyId: expiring.keyId },
        ])
        // Once that material is deleted, the next ValidTo counts.
        await store.updateKey({
          ...expiring,
          materials: [
            expiring.materials![0]!,
            { ...expiring.materials![1]!, imported: { importState: 'PENDING_IMPORT' } },
          ],
        })
        assert.deepEqual(await store.listKeysWithExpiredMaterial(T0 + 29 * DAY), [])
        assert.deepEqual(await store.listKeysWithExpiredMaterial(T0 + 30 * DAY), [
          { region: 'us-east-1', keyId: expiring.keyId },
        ])
      })

      it('counts keys by state and spec, and lists expiring material, for the metrics', async () => {
        const store = await fresh()
        const expiring = keyFixture({
          origin: 'EXTERNAL',
          keyState: 'Enabled',
          materials: [
            {
              keyMaterialId: '5'.repeat(64),
              createdAt: T0,
              imported: {
                importState: 'IMPORTED',
                expirationModel: 'KEY_MATERIAL_EXPIRES',
                validTo: T0 + 7 * DAY,
              },
            },
          ],
          currentKeyMaterialId: '5'.repeat(64),
        })
        const keys = [
          expiring,
          keyFixture(),
          keyFixture({ keyState: 'Disabled' }),
          keyFixture({ keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY', region: 'eu-west-1' }),
        ]
        for (const k of keys) await store.insertKey(k)
        const counts = await store.countKeysByStateAndSpec()
        const sorted = [...counts].sort((a, b) =>
          `${a.keyState}/${a.keySpec}`.localeCompare(`${b.keyState}/${b.keySpec}`),
        )
        assert.deepEqual(sorted, [
          { keyState: 'Disabled', keySpec: 'SYMMETRIC_DEFAULT', count: 1 },
          { keyState: 'Enabled', keySpec: 'RSA_2048', count: 1 },
          { keyState: 'Enabled', keySpec: 'SYMMETRIC_DEFAULT', count: 2 },
        ])
        assert.deepEqual(await store.listMaterialExpirations(), [
          { region: 'us-east-1', keyId: expiring.keyId, expiresAt: T0 + 7 * DAY },
        ])
      })
    })

    describe('key last use', () => {
      const use = (keyId: string, usedAt: number, operation = 'Encrypt') => ({
        region: 'us-east-1',
        keyId,
        operation,
        usedAt,
        requestId: `req-${usedAt}`,
      })

      it('keeps the latest use per key, whatever order uses arrive in', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        assert.equal(await store.getKeyUsage(key.region, key.keyId), undefined)
        await store.recordKeyUsage([use(key.keyId, 2000, 'Decrypt')])
        await store.recordKeyUsage([use(key.keyId, 1000, 'Sign')])
        assert.deepEqual(
          await store.getKeyUsage(key.region, key.keyId),
          use(key.keyId, 2000, 'Decrypt'),
        )
        await store.recordKeyUsage([use(key.keyId, 3000, 'Verify')])
        assert.equal((await store.getKeyUsage(key.region, key.keyId))?.operation, 'Verify')
      })

      it('forgets a deleted key with its last use', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        await store.recordKeyUsage([use(key.keyId, 1000)])
        await store.transaction((tx) => tx.deleteKey(key.region, key.keyId))
        assert.equal(await store.getKeyUsage(key.region, key.keyId), undefined)
      })

      it('records when tracking started (the migration that created the table)', async () => {
        const store = await fresh()
        const start = Number(await store.getSetting('key_usage_tracking_start'))
        assert.ok(start > Date.parse('2026-01-01') && start <= Date.now())
      })
    })

    describe('grants', () => {
      it('inserts a grant and reads it back, field for field', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        const grant = grantFixture(key, {
          name: 'app:grant/1',
          retiringPrincipal: `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/ops/session`,
          constraints: { encryptionContextSubset: { Department: 'IT', purpose: 'Test' } },
        })
        await store.insertGrant(grant)
        assert.deepEqual(await store.getGrant(grant.grantId), grant)
        assert.equal(await store.getGrant('f'.repeat(64)), undefined)
        assert.equal(await store.countGrants(key.region, key.keyId), 1)
      })

      it('lists a key’s grants by ID, page by page, with the GrantId and grantee filters', async () => {
        const store = await fresh()
        const key = keyFixture()
        const other = keyFixture()
        await store.insertKey(key)
        await store.insertKey(other)
        const ids = ['1', '2', '3', '4', '5'].map((c) => c.repeat(64))
        for (const [i, grantId] of [...ids].reverse().entries()) {
          const grantee = `arn:aws:iam::${ACCOUNT}:user/u${i % 2}`
          await store.insertGrant(grantFixture(key, { grantId, granteePrincipal: grantee }))
        }
        await store.insertGrant(grantFixture(other, { grantId: '0'.repeat(64) }))
        const first = await store.listGrants(key, { limit: 2 })
        assert.deepEqual(
          first.items.map((g) => g.grantId),
          ids.slice(0, 2),
        )
        assert.equal(first.truncated, true)
        const rest = await store.listGrants(key, { limit: 5, after: ids[1] })
        assert.deepEqual(
          rest.items.map((g) => g.grantId),
          ids.slice(2),
        )
        assert.equal(rest.truncated, false)
        const one = await store.listGrants(key, { limit: 50, grantId: ids[2] })
        assert.deepEqual(
          one.items.map((g) => g.grantId),
          [ids[2]],
        )
        const byGrantee = await store.listGrants(key, {
          limit: 50,
          granteePrincipal: `arn:aws:iam::${ACCOUNT}:user/u1`,
        })
        assert.deepEqual(
          byGrantee.items.map((g) => g.grantId),
          [ids[1], ids[3]],
        )
        assert.deepEqual(
          (await store.listGrantsOfKey(key.region, key.keyId)).map((g) => g.grantId),
          ids,
        )
      })

      it('lists the grants of a Region that name a retiring principal, across keys', async () => {
        const store = await fresh()
        const a = keyFixture()
        const b = keyFixture({ accountId: OTHER_ACCOUNT })
        const west = keyFixture({ region: 'eu-west-1' })
        for (const k of [a, b, west]) await store.insertKey(k)
        const retiring = `arn:aws:iam::${ACCOUNT}:role/retirer`
        await store.insertGrant(
          grantFixture(a, { grantId: '2'.repeat(64), retiringPrincipal: retiring }),
        )
        await store.insertGrant(
          grantFixture(b, { grantId: '1'.repeat(64), retiringPrincipal: retiring }),
        )
        await store.insertGrant(grantFixture(a, { grantId: '3'.repeat(64) }))
        await store.insertGrant(
          grantFixture(west, { grantId: '4'.repeat(64), retiringPrincipal: retiring }),
        )
        const page = await store.listRetirableGrants(
          { region: 'us-east-1', retiringPrincipal: retiring },
          { limit: 1 },
        )
        assert.deepEqual(
          page.items.map((g) => g.grantId),
          ['1'.repeat(64)],
        )
        assert.equal(page.truncated, true)
        const next = await store.listRetirableGrants(
          { region: 'us-east-1', retiringPrincipal: retiring },
          { limit: 1, after: '1'.repeat(64) },
        )
        assert.deepEqual(
          next.items.map((g) => g.grantId),
          ['2'.repeat(64)],
        )
        assert.equal(next.truncated, false)
      })

      it('finds a key’s grants by Name, and deletes one grant', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        const named = grantFixture(key, { name: 'n1' })
        await store.insertGrant(named)
        await store.insertGrant(grantFixture(key, { name: 'n2' }))
        assert.deepEqual(await store.findGrantsByName(key.region, key.keyId, 'n1'), [named])
        assert.deepEqual(await store.findGrantsByName(key.region, 'other', 'n1'), [])
        assert.equal(await store.deleteGrant(named.grantId), true)
        assert.equal(await store.deleteGrant(named.grantId), false)
        assert.equal(await store.getGrant(named.grantId), undefined)
        assert.equal(await store.countGrants(key.region, key.keyId), 1)
      })

      it('deletes a key’s grants with the key, and only that key’s', async () => {
        const store = await fresh()
        const key = keyFixture()
        const other = keyFixture()
        await store.insertKey(key)
        await store.insertKey(other)
        const gone = grantFixture(key)
        const kept = grantFixture(other)
        await store.insertGrant(gone)
        await store.insertGrant(kept)
        await store.transaction((tx) => tx.deleteKey(key.region, key.keyId))
        assert.equal(await store.getGrant(gone.grantId), undefined)
        assert.deepEqual(await store.getGrant(kept.grantId), kept)
      })

      it('rolls back a grant insert with its transaction', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        const grant = grantFixture(key)
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.insertGrant(grant)
            assert.equal(await tx.countGrants(key.region, key.keyId), 1)
            throw new Error('abort')
          }),
          /abort/,
        )
        assert.equal(await store.getGrant(grant.grantId), undefined)
      })
    })

    describe('settings', () => {
      it('answers undefined for an unknown setting, then the last value set', async () => {
        const store = await fresh()
        assert.equal(await store.getSetting('root_key_fingerprint'), undefined)
        await store.setSetting('root_key_fingerprint', 'one')
        assert.equal(await store.getSetting('root_key_fingerprint'), 'one')
        await store.setSetting('root_key_fingerprint', 'two')
        assert.equal(await store.getSetting('root_key_fingerprint'), 'two')
        assert.equal(await store.getSetting('other'), undefined)
      })

      it('initSetting stores a value only once and answers the stored one', async () => {
        const store = await fresh()
        assert.equal(await store.initSetting('grant_token_key', 'first'), 'first')
        assert.equal(await store.initSetting('grant_token_key', 'second'), 'first')
        assert.equal(await store.getSetting('grant_token_key'), 'first')
      })
    })

    describe('transactions', () => {
      it('commits every write of a transaction and returns its result', async () => {
        const store = await fresh()
        const key = keyFixture()
        const result = await store.transaction(async (tx) => {
          await tx.insertKey(key)
          await tx.insertKeyMaterial(materialFixture(key))
          assert.equal(await tx.insertAlias(aliasFixture(key, 'alias/tx')), true)
          // A transaction reads its own writes.
          assert.deepEqual(await tx.getKey(key.region, key.keyId), key)
          assert.equal(await tx.countAliases(key.region, key.keyId), 1)
          return 'done'
        })
        assert.equal(result, 'done')
        assert.deepEqual(await store.getKey(key.region, key.keyId), key)
        assert.equal((await store.listKeyMaterials(key.region, key.keyId)).length, 1)
        assert.ok(await store.getAlias(HOME, 'alias/tx'))
      })

      it('writes nothing when the function throws, and passes the error on', async () => {
        const store = await fresh()
        const existing = keyFixture({ description: 'before' })
        await store.insertKey(existing)
        const key = keyFixture()
        const boom = new Error('boom')
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.insertKey(key)
            await tx.insertKeyMaterial(materialFixture(key))
            await tx.insertAlias(aliasFixture(key, 'alias/never'))
            await tx.updateKey({ ...existing, description: 'after' })
            await tx.deleteAlias(HOME, 'alias/none')
            throw boom
          }),
          (error) => error === boom,
        )
        assert.equal(await store.getKey(key.region, key.keyId), undefined)
        assert.deepEqual(await store.listKeyMaterials(key.region, key.keyId), [])
        assert.equal(await store.getAlias(HOME, 'alias/never'), undefined)
        assert.equal((await store.getKey(existing.region, existing.keyId))?.description, 'before')
      })

      it('rolls back a delete when the function throws', async () => {
        const store = await fresh()
        const key = keyFixture()
        await store.insertKey(key)
        await store.insertKeyMaterial(materialFixture(key))
        await store.insertAlias(aliasFixture(key, 'alias/stays'))
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.deleteKey(key.region, key.keyId)
            throw new Error('changed my mind')
          }),
          /changed my mind/,
        )
        assert.deepEqual(await store.getKey(key.region, key.keyId), key)
        assert.equal((await store.listKeyMaterials(key.region, key.keyId)).length, 1)
        assert.ok(await store.getAlias(HOME, 'alias/stays'))
      })

      it('refuses the store itself inside its own transaction, instead of hanging', async () => {
        const store = await fresh()
        const key = keyFixture()
        const insideUse = [
          () => store.getKey(key.region, key.keyId),
          () => store.getSetting('x'),
          () => store.listKeys(HOME, { limit: 1 }),
          () => store.transaction(async () => undefined),
        ]
        for (const use of insideUse) {
          await assert.rejects(
            store.transaction(async (tx) => {
              await tx.insertKey(key)
              await use()
            }),
            {
              message:
                'KeyStore used directly inside one of its own transactions: use the transaction object (tx) instead',
            },
          )
          assert.equal(await store.getKey(key.region, key.keyId), undefined, 'rolled back')
        }
        // Concurrent transactions of other callers are not "inside" and simply wait their turn.
        await Promise.all([
          store.transaction((tx) => tx.insertKey(key)),
          store.getSetting('x'),
          store.transaction(async (tx) => tx.getKey(key.region, key.keyId)),
        ])
        assert.ok(await store.getKey(key.region, key.keyId))
      })

      it('serialises concurrent read-modify-write transactions (no lost update)', async () => {
        const store = await fresh()
        const key = keyFixture({ description: '' })
        await store.insertKey(key)
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.transaction(async (tx) => {
              const current = (await tx.getKey(key.region, key.keyId))!
              // Yield between the read and the write, as a handler with checks would.
              await new Promise((resolve) => setImmediate(resolve))
              await tx.updateKey({ ...current, description: current.description + String(i % 10) })
            }),
          ),
        )
        const final = await store.getKey(key.region, key.keyId)
        assert.equal(final?.description.length, 10)
      })

      // Issue 10: with `--workers 2`, a deferred BEGIN that read and then wrote failed with
      // SQLITE_BUSY_SNAPSHOT whenever the other process had committed in between.
      it(
        'serialises read-modify-write transactions of two OS processes: no error, no lost write',
        {
          skip: options.shared
            ? false
            : 'the storage of this adapter cannot be opened by another process',
          timeout: 120_000,
        },
        async () => {
          const { store, startWriter } = await options.shared!()
          opened.push(store)
          const counter = keyFixture({ description: '' })
          await store.insertKey(counter)
          const COUNT = 150
          const prefixes = ['aaaa', 'bbbb']
          const children = prefixes.map((prefix) => startWriter({ prefix, count: COUNT, counter }))
          try {
            // Both processes open the store first, then write at the same moment.
            await Promise.all(children.map((child) => once(child, 'message')))
            const reports = children.map(
              async (child) => (await once(child, 'message'))[0] as WriterReport,
            )
            for (const child of children) child.send('go')
            const errors = (await Promise.all(reports)).flatMap((r) => r.errors)
            assert.deepEqual(errors, [])
          } finally {
            for (const child of children) if (child.exitCode === null) child.kill()
          }
          const final = await store.getKey(counter.region, counter.keyId)
          assert.equal(final?.description.length, 2 * COUNT, 'every increment of both processes')
          for (const prefix of prefixes) {
            for (let i = 0; i < COUNT; i++) {
              assert.ok(
                await store.getKey(counter.region, writerKeyId(prefix, i)),
                `${prefix}/${i}`,
              )
            }
          }
        },
      )
    })
  })
}
