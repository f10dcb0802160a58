import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import { openPostgresKeyStore } from '../../src/adapters/store-pg/open-postgres.js'
import type { KeyStore } from '../../src/ports/key-store.js'
import { freshSchema, PG_SKIP } from '../support/postgres.js'
import { keyFixture, runKeyStoreContract } from './key-store-contract.js'

const drops: Array<() => Promise<void>> = []
after(async () => {
  for (const drop of drops.splice(0)) await drop().catch(() => undefined)
})

/** A URL whose sessions use a new, empty schema (dropped after the file). */
async function freshUrl(): Promise<string> {
  const { url, drop } = await freshSchema()
  drops.push(drop)
  return url
}

/** The writer process of the two-process race (compiled next to this file). */
const WRITER = fileURLToPath(new URL('./postgres-writer-process.js', import.meta.url))

if (PG_SKIP) {
  describe('KeyStore contract: PostgreSQL', () => {
    it('runs against a PostgreSQL server', { skip: PG_SKIP }, () => undefined)
  })
} else {
  runKeyStoreContract(
    'PostgreSQL',
    async () => openPostgresKeyStore(await freshUrl(), { guardTransactions: true }),
    {
      // Another node on the same database: an OS process with a store of its own.
      shared: async () => {
        const url = await freshUrl()
        const store = await openPostgresKeyStore(url)
        return {
          store,
          startWriter: (req) => fork(WRITER, [url, JSON.stringify(req)], { stdio: 'inherit' }),
        }
      },
    },
  )
}

describe('PostgreSQL key store', { skip: PG_SKIP }, () => {
  it('migrates once when three nodes start at the same moment on an empty database', async () => {
    const url = await freshUrl()
    const stores: KeyStore[] = await Promise.all([1, 2, 3].map(() => openPostgresKeyStore(url)))
    try {
      const key = keyFixture()
      await stores[0]!.insertKey(key)
      for (const store of stores) assert.deepEqual(await store.getKey(key.region, key.keyId), key)
      // The tracking start date is written by migration 0003: once means one row.
      const start = await Promise.all(stores.map((s) => s.getSetting('key_usage_tracking_start')))
      assert.equal(new Set(start).size, 1)
    } finally {
      for (const store of stores) await store.close()
    }
  })

  it('keeps a quota when two nodes count and create at the same moment', async () => {
    const url = await freshUrl()
    const nodes = await Promise.all([openPostgresKeyStore(url), openPostgresKeyStore(url)])
    const scope = { accountId: '111122223333', region: 'us-east-1' }
    const QUOTA = 5
    try {
      // As CreateKey does: count the account's keys, then insert one if there is room.
      await Promise.all(
        nodes.flatMap((node) =>
          Array.from({ length: 10 }, () =>
            node.transaction(async (tx) => {
              const count = await tx.countKeys(scope)
              await new Promise((resolve) => setTimeout(resolve, 5))
              if (count < QUOTA) await tx.insertKey(keyFixture())
            }),
          ),
        ),
      )
      assert.equal(await nodes[0]!.transaction((tx) => tx.countKeys(scope)), QUOTA)
    } finally {
      for (const node of nodes) await node.close()
    }
  })
})
