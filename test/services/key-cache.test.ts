import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import type { KyselyKeyStore } from '../../src/adapters/store-sql/kysely-key-store.js'
import { SoftwareRootKey } from '../../src/adapters/root-key/software-root-key.js'
import type { Caller } from '../../src/domain/caller.js'
import type { KeyRecord } from '../../src/domain/key.js'
import { systemClock } from '../../src/ports/clock.js'
import { systemRandom } from '../../src/ports/random.js'
import { KeyService, type KeyRequester } from '../../src/services/key-service.js'
import { keyFixture } from '../adapters/key-store-contract.js'

const dir = mkdtempSync(join(tmpdir(), 'keyward-cache-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const rootKey = new SoftwareRootKey(Buffer.alloc(32, 7))

/** A KeyService over `store`, and how many times it read a key record from it. */
function serviceOver(store: KyselyKeyStore, keyCacheBytes?: number) {
  const reads = { keys: 0 }
  const getKey = store.getKey.bind(store)
  store.getKey = (region: string, keyId: string) => {
    reads.keys++
    return getKey(region, keyId)
  }
  const keys = new KeyService({
    store,
    rootKey,
    clock: systemClock,
    random: systemRandom,
    ...(keyCacheBytes ? { keyCacheBytes } : {}),
  })
  return { keys, reads }
}

/** `n` keys created through `keys`, each with 32 bytes of material. */
async function createKeys(keys: KeyService, n: number): Promise<KeyRecord[]> {
  const created: KeyRecord[] = []
  for (let i = 0; i < n; i++) {
    const keyMaterialId = String(i).padStart(64, '0')
    const key = keyFixture({ currentKeyMaterialId: keyMaterialId })
    await keys.create(key, { keyMaterialId, bytes: Buffer.alloc(32, i) })
    created.push(key)
  }
  return created
}

const requester = (accountId: string): KeyRequester => ({
  caller: { accountId, arn: `arn:aws:iam::${accountId}:root` } as Caller,
  region: 'us-east-1',
  onKeyResolved: async () => {},
})

describe('key cache', () => {
  it('is bounded by size and evicts the least recently used key first', async () => {
    const store = await openSqliteKeyStore(':memory:')
    try {
      const { keys, reads } = serviceOver(store, 16 * 1024)
      const created = await createKeys(keys, 60)
      const [first, second] = created as [KeyRecord, KeyRecord]
      for (const key of created) {
        assert.equal((await keys.material(key))?.material.length, 32)
        await keys.findKey(first.region, first.keyId) // keeps the first key recently used
      }
      const usage = keys.cacheUsage()
      assert.ok(usage.bytes <= usage.maxBytes, `${usage.bytes} bytes cached`)
      assert.ok(usage.entries > 5 && usage.entries < 60, `${usage.entries} keys cached`)
      const before = reads.keys
      await keys.findKey(first.region, first.keyId)
      assert.equal(reads.keys, before, 'the key used all along is still cached')
      await keys.findKey(second.region, second.keyId)
      assert.equal(reads.keys, before + 1, 'a key not used since is read again')
      // An evicted key's material comes back from the store, unwrapped again.
      assert.deepEqual((await keys.material(second))?.material, Buffer.alloc(32, 1))
    } finally {
      await store.close()
    }
  })

  it('keeps each cached material in an allocation of its own, not a slice of a shared slab', async () => {
    const store = await openSqliteKeyStore(':memory:')
    try {
      const { keys } = serviceOver(store)
      const [key] = (await createKeys(keys, 1)) as [KeyRecord]
      const material = (await keys.material(key))?.material
      assert.equal(material?.buffer.byteLength, 32)
      assert.equal(material?.byteOffset, 0)
    } finally {
      await store.close()
    }
  })

  describe('with another process writing to the same database', () => {
    const path = join(dir, 'shared.db')
    const open = () => openSqliteKeyStore(path, { sharedWithOtherProcesses: true })

    it('forgets only the key another process changed', async () => {
      const storeA = await open()
      const storeB = await open()
      try {
        const a = serviceOver(storeA)
        const b = serviceOver(storeB)
        const [k1, k2] = (await createKeys(b.keys, 2)) as [KeyRecord, KeyRecord]
        // As a request does: resolve (which follows the other writers), then the material.
        for (const key of [k1, k2]) {
          await a.keys.findKey(key.region, key.keyId)
          await a.keys.material(key)
        }
        await b.keys.mutate(k1, (current) => ({ ...current, description: 'changed' }))
        const before = a.reads.keys
        assert.equal((await a.keys.findKey(k1.region, k1.keyId))?.description, 'changed')
        assert.equal(a.reads.keys, before + 1)
        assert.equal((await a.keys.findKey(k2.region, k2.keyId))?.description, '')
        assert.equal(a.reads.keys, before + 1, 'the key nobody changed stays cached')
      } finally {
        await storeA.close()
        await storeB.close()
      }
    })

    it('follows an alias another process moved', async () => {
      const storeA = await open()
      const storeB = await open()
      try {
        const a = serviceOver(storeA)
        const b = serviceOver(storeB)
        const [k1, k2] = (await createKeys(b.keys, 2)) as [KeyRecord, KeyRecord]
        const alias = {
          accountId: k1.accountId,
          region: k1.region,
          aliasName: 'alias/moving',
          targetKeyId: k1.keyId,
          creationDate: 1,
          lastUpdatedDate: 1,
        }
        await b.keys.changeAliases((tx) => tx.insertAlias(alias))
        const by = requester(k1.accountId)
        const resolve = () => a.keys.resolve({ by, keyId: 'alias/moving', accept: 'idArnOrAlias' })
        assert.equal((await resolve()).keyId, k1.keyId)
        await b.keys.changeAliases((tx) => tx.updateAlias({ ...alias, targetKeyId: k2.keyId }))
        assert.equal((await resolve()).keyId, k2.keyId)
      } finally {
        await storeA.close()
        await storeB.close()
      }
    })

    it('forgets everything when the change log was trimmed past what it read', async () => {
      const storeA = await open()
      const storeB = await open()
      try {
        const a = serviceOver(storeA)
        const b = serviceOver(storeB)
        const [k1, k2] = (await createKeys(b.keys, 2)) as [KeyRecord, KeyRecord]
        await a.keys.findKey(k2.region, k2.keyId)
        await b.keys.mutate(k1, (current) => ({ ...current, description: 'one' }))
        await b.keys.mutate(k1, (current) => ({ ...current, description: 'two' }))
        assert.ok((await storeB.changeLog.trim(Date.now() + 60_000)) > 0)
        const before = a.reads.keys
        await a.keys.findKey(k2.region, k2.keyId)
        assert.equal(a.reads.keys, before + 1)
        assert.equal((await a.keys.findKey(k1.region, k1.keyId))?.description, 'two')
      } finally {
        await storeA.close()
        await storeB.close()
      }
    })
  })
})
