import type { CustomKeyStoreRecord } from '../../src/domain/custom-key-store.js'
import type { GrantRecord } from '../../src/domain/grant.js'
import type { KeyStore } from '../../src/ports/key-store.js'
import { keyFixture } from './key-store-contract.js'

/**
 * Every KeyStore call a request or a scheduler tick makes, by name, with parameters. A store
 * adapter's query-plan test runs each against a store whose SQL it records (Kysely's `log`) and
 * asks its database how each statement would run: SQLite's EXPLAIN QUERY PLAN, PostgreSQL's
 * EXPLAIN. A call that may legitimately read a whole small table (custom key stores, settings)
 * is listed too: the tests only refuse scans of the keys and aliases tables, which grow with
 * the number of keys.
 */
export interface NamedStoreCall {
  readonly name: string
  readonly run: (store: KeyStore) => Promise<unknown>
}

const key = keyFixture({ keyId: '00000000-0000-4000-8000-000000000001' })
const scope = { accountId: key.accountId, region: key.region }
const T = Date.parse('2026-06-01T00:00:00Z')
const material = {
  region: key.region,
  keyId: key.keyId,
  keyMaterialId: 'b'.repeat(64),
  createdAt: T,
  wrapped: Buffer.alloc(60),
}
const alias = {
  ...scope,
  aliasName: 'alias/plan',
  targetKeyId: key.keyId,
  creationDate: T,
  lastUpdatedDate: T,
}
const grant: GrantRecord = {
  grantId: 'c'.repeat(64),
  keyId: key.keyId,
  region: key.region,
  accountId: key.accountId,
  granteePrincipal: `arn:aws:iam::${key.accountId}:role/app`,
  retiringPrincipal: `arn:aws:iam::${key.accountId}:role/ops`,
  name: 'plan',
  operations: ['Encrypt'],
  issuingAccount: `arn:aws:iam::${key.accountId}:root`,
  creationDate: T,
}
const customKeyStore = {
  schemaVersion: 1,
  region: key.region,
  accountId: key.accountId,
  customKeyStoreId: 'cks-1234567890abcdef0',
  customKeyStoreType: 'AWS_CLOUDHSM',
  name: 'plan-store',
  cloudHsmClusterId: 'cluster-234abcdefABC',
} as unknown as CustomKeyStoreRecord
const cks = customKeyStore.customKeyStoreId

/** The calls, in an order in which each finds what it looks for where that matters. */
export const STORE_CALLS: readonly NamedStoreCall[] = [
  { name: 'insertKey', run: (s) => s.insertKey(key) },
  { name: 'getKey', run: (s) => s.getKey(key.region, key.keyId) },
  { name: 'updateKey', run: (s) => s.updateKey({ ...key, description: 'x' }) },
  { name: 'countKeys', run: (s) => s.countKeys(scope) },
  { name: 'listKeys', run: (s) => s.listKeys(scope, { limit: 100 }) },
  { name: 'listKeys after', run: (s) => s.listKeys(scope, { limit: 100, after: key.keyId }) },
  { name: 'insertKeyMaterial', run: (s) => s.insertKeyMaterial(material) },
  { name: 'putKeyMaterial', run: (s) => s.putKeyMaterial(material) },
  { name: 'listKeyMaterials', run: (s) => s.listKeyMaterials(key.region, key.keyId) },
  {
    name: 'deleteKeyMaterial',
    run: (s) => s.deleteKeyMaterial(key.region, key.keyId, material.keyMaterialId),
  },
  { name: 'insertAlias', run: (s) => s.insertAlias(alias) },
  { name: 'getAlias', run: (s) => s.getAlias(scope, alias.aliasName) },
  { name: 'updateAlias', run: (s) => s.updateAlias(alias) },
  { name: 'countAliases', run: (s) => s.countAliases(key.region, key.keyId) },
  { name: 'listAliases', run: (s) => s.listAliases(scope, { limit: 100 }) },
  {
    name: 'listAliases after',
    run: (s) => s.listAliases(scope, { limit: 100, after: 'alias/a' }),
  },
  {
    name: 'listAliases KeyId',
    run: (s) => s.listAliases(scope, { limit: 100, keyId: key.keyId }),
  },
  {
    name: 'listAliases KeyId after',
    run: (s) => s.listAliases(scope, { limit: 100, keyId: key.keyId, after: 'alias/a' }),
  },
  { name: 'deleteAlias', run: (s) => s.deleteAlias(scope, alias.aliasName) },
  { name: 'insertCustomKeyStore', run: (s) => s.insertCustomKeyStore(customKeyStore) },
  { name: 'getCustomKeyStore', run: (s) => s.getCustomKeyStore(key.region, cks) },
  { name: 'findCustomKeyStoreByName', run: (s) => s.findCustomKeyStoreByName(scope, 'x') },
  { name: 'findCustomKeyStoreByCluster', run: (s) => s.findCustomKeyStoreByCluster('c') },
  { name: 'listCustomKeyStoresOf', run: (s) => s.listCustomKeyStoresOf(scope) },
  { name: 'countCustomKeyStores', run: (s) => s.countCustomKeyStores(scope) },
  { name: 'listCustomKeyStores', run: (s) => s.listCustomKeyStores(scope, { limit: 10 }) },
  { name: 'listAllCustomKeyStores', run: (s) => s.listAllCustomKeyStores() },
  { name: 'updateCustomKeyStore', run: (s) => s.updateCustomKeyStore(customKeyStore) },
  { name: 'countKeysInCustomKeyStore', run: (s) => s.countKeysInCustomKeyStore(key.region, cks) },
  { name: 'listKeysInCustomKeyStore', run: (s) => s.listKeysInCustomKeyStore(key.region, cks) },
  { name: 'insertGrant', run: (s) => s.insertGrant(grant) },
  { name: 'getGrant', run: (s) => s.getGrant(grant.grantId) },
  { name: 'countGrants', run: (s) => s.countGrants(key.region, key.keyId) },
  { name: 'findGrantsByName', run: (s) => s.findGrantsByName(key.region, key.keyId, 'plan') },
  { name: 'listGrantsOfKey', run: (s) => s.listGrantsOfKey(key.region, key.keyId) },
  { name: 'listGrants', run: (s) => s.listGrants(key, { limit: 50, granteePrincipal: 'p' }) },
  {
    name: 'listRetirableGrants',
    run: (s) =>
      s.listRetirableGrants(
        { region: key.region, retiringPrincipal: grant.retiringPrincipal ?? '' },
        { limit: 50 },
      ),
  },
  { name: 'deleteGrant', run: (s) => s.deleteGrant(grant.grantId) },
  {
    name: 'recordKeyUsage',
    run: (s) =>
      s.recordKeyUsage([
        { region: key.region, keyId: key.keyId, operation: 'Encrypt', usedAt: T, requestId: 'r' },
      ]),
  },
  { name: 'getKeyUsage', run: (s) => s.getKeyUsage(key.region, key.keyId) },
  { name: 'listKeysDueForDeletion', run: (s) => s.listKeysDueForDeletion(T) },
  { name: 'listKeysDueForRotation', run: (s) => s.listKeysDueForRotation(T) },
  { name: 'listKeysWithExpiredMaterial', run: (s) => s.listKeysWithExpiredMaterial(T) },
  { name: 'getSetting', run: (s) => s.getSetting('x') },
  { name: 'setSetting', run: (s) => s.setSetting('x', 'y') },
  { name: 'initSetting', run: (s) => s.initSetting('z', 'y') },
  // The change log: read by every process when another one committed, trimmed by a job.
  { name: 'changeLog.latest', run: async (s) => s.changeLog?.latest() },
  { name: 'changeLog.since', run: async (s) => s.changeLog?.since(1, 1000) },
  { name: 'changeLog.trim', run: async (s) => s.changeLog?.trim(T) },
  { name: 'deleteCustomKeyStore', run: (s) => s.deleteCustomKeyStore(key.region, cks) },
  { name: 'deleteKey', run: (s) => s.deleteKey(key.region, key.keyId) },
]

/** One statement a named call ran, as the database received it. */
export interface RecordedQuery {
  readonly call: string
  readonly sql: string
  readonly parameters: readonly unknown[]
}

/**
 * Runs every call of {@link STORE_CALLS} on `store` and returns the statements each ran, as
 * `recorded` (filled by the store's query log) saw them.
 */
export async function recordStoreQueries(
  store: KeyStore,
  recorded: Array<{ sql: string; parameters: readonly unknown[] }>,
): Promise<RecordedQuery[]> {
  const queries: RecordedQuery[] = []
  for (const call of STORE_CALLS) {
    recorded.length = 0
    await call.run(store)
    for (const q of recorded) queries.push({ call: call.name, ...q })
  }
  return queries
}
