import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, Migrator, SqliteDialect } from 'kysely'
import { migrationProvider } from '../../src/adapters/store-sql/migrations.js'
import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import { keyFixture, runKeyStoreContract } from './key-store-contract.js'

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-store-'))
  dirs.push(dir)
  return dir
}

/** The writer process of the two-process race (compiled next to this file). */
const WRITER = fileURLToPath(new URL('./sqlite-writer-process.js', import.meta.url))

runKeyStoreContract(
  'SQLite file',
  () => openSqliteKeyStore(join(tempDir(), 'keyward.db'), { guardTransactions: true }),
  {
    // Two `--workers` processes on one file: each opens it as the server does.
    shared: async () => {
      const path = join(tempDir(), 'keyward.db')
      const store = await openSqliteKeyStore(path, { sharedWithOtherProcesses: true })
      return {
        store,
        startWriter: (req) => fork(WRITER, [path, JSON.stringify(req)], { stdio: 'inherit' }),
      }
    },
  },
)
runKeyStoreContract('SQLite in memory', () =>
  openSqliteKeyStore(':memory:', { guardTransactions: true }),
)

describe('SQLite key store', () => {
  it('keeps what it stored across a close and a reopen (migrations run once)', async () => {
    const path = join(tempDir(), 'keyward.db')
    const key = keyFixture()
    const first = await openSqliteKeyStore(path)
    await first.insertKey(key)
    await first.setSetting('root_key_fingerprint', 'abc')
    await first.close()
    const second = await openSqliteKeyStore(path)
    try {
      assert.deepEqual(await second.getKey(key.region, key.keyId), key)
      assert.equal(await second.getSetting('root_key_fingerprint'), 'abc')
    } finally {
      await second.close()
    }
  })

  it('writes through a write-ahead log', async () => {
    const path = join(tempDir(), 'keyward.db')
    const store = await openSqliteKeyStore(path)
    try {
      await store.insertKey(keyFixture())
      assert.ok(existsSync(`${path}-wal`), 'a -wal file next to the database')
      const db = new BetterSqlite3(path, { readonly: true })
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
      } finally {
        db.close()
      }
    } finally {
      await store.close()
    }
  })

  it('upgrades a database of migration 0001: its keys load, and gain the scheduling columns', async () => {
    const path = join(tempDir(), 'keyward.db')
    const key = keyFixture()
    const old = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: new BetterSqlite3(path) }),
    })
    const { error } = await new Migrator({ db: old, provider: migrationProvider }).migrateTo(
      '0001_keys_materials_aliases',
    )
    assert.equal(error, undefined)
    await old.destroy()
    // A row exactly as a Keyward with only migration 0001 wrote it.
    const raw = new BetterSqlite3(path)
    raw
      .prepare(
        'INSERT INTO kms_keys (region, key_id, account_id, key_state, deletion_date, creation_date, record) VALUES (?, ?, ?, ?, NULL, ?, ?)',
      )
      .run(
        key.region,
        key.keyId,
        key.accountId,
        key.keyState,
        key.creationDate,
        JSON.stringify(key),
      )
    raw.close()

    const store = await openSqliteKeyStore(path)
    try {
      assert.deepEqual(await store.getKey(key.region, key.keyId), key)
      assert.deepEqual(await store.listKeysDueForRotation(Date.now()), [])
      // 0004: the old key lives in no custom key store.
      assert.equal(await store.countKeysInCustomKeyStore(key.region, 'cks-1234567890abcdef0'), 0)
      // 0006: the old key has no grants.
      assert.equal(await store.countGrants(key.region, key.keyId), 0)
      await store.updateKey({ ...key, rotationPeriodInDays: 365, nextRotationDate: 1 })
      assert.deepEqual(await store.listKeysDueForRotation(1), [
        { region: key.region, keyId: key.keyId },
      ])
    } finally {
      await store.close()
    }
    const db = new BetterSqlite3(path, { readonly: true })
    try {
      const names = (
        db.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as Array<{
          name: string
        }>
      ).map((r) => r.name)
      assert.deepEqual(names, [
        '0001_keys_materials_aliases',
        '0002_rotation_and_expiry_dates',
        '0003_key_last_usage',
        '0004_custom_key_stores',
        '0005_external_key_stores',
        '0006_grants',
        '0007_multi_region_keys',
        '0008_scale_indexes_and_change_log',
        '0009_key_last_usage_event_id',
      ])
    } finally {
      db.close()
    }
  })

  it('keeps the custom key stores of migration 0004 when 0005 rebuilds their table', async () => {
    const path = join(tempDir(), 'keyward.db')
    const old = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: new BetterSqlite3(path) }),
    })
    const { error } = await new Migrator({ db: old, provider: migrationProvider }).migrateTo(
      '0004_custom_key_stores',
    )
    assert.equal(error, undefined)
    await old.destroy()
    const record = {
      schemaVersion: 1,
      customKeyStoreId: 'cks-1234567890abcdef0',
      accountId: '111122223333',
      region: 'us-east-1',
      name: 'hsm',
      customKeyStoreType: 'AWS_CLOUDHSM',
      cloudHsmClusterId: 'cluster-aaaaaaaaaaa',
      trustAnchorCertificate: 'PEM',
      wrappedPassword: 'd3JhcHBlZA==',
      creationDate: 1,
      connectionState: 'CONNECTED',
    } as const
    const raw = new BetterSqlite3(path)
    raw
      .prepare(
        'INSERT INTO kms_custom_key_stores (region, custom_key_store_id, account_id, name, cloud_hsm_cluster_id, record) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        'us-east-1',
        record.customKeyStoreId,
        record.accountId,
        'hsm',
        record.cloudHsmClusterId,
        JSON.stringify(record),
      )
    raw.close()
    const store = await openSqliteKeyStore(path)
    try {
      assert.deepEqual(await store.getCustomKeyStore('us-east-1', record.customKeyStoreId), record)
      assert.deepEqual(await store.findCustomKeyStoreByCluster('cluster-aaaaaaaaaaa'), record)
      // The cluster stays unique after the rebuild.
      await assert.rejects(
        store.insertCustomKeyStore({
          ...record,
          customKeyStoreId: 'cks-2222222222222222a',
          name: 'other',
        }),
      )
    } finally {
      await store.close()
    }
  })

  it('refuses to work after close', async () => {
    const store = await openSqliteKeyStore(':memory:')
    await store.close()
    await assert.rejects(store.getKey('us-east-1', keyFixture().keyId))
  })
})
