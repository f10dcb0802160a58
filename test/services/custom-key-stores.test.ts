import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { SoftwareRootKey } from '../../src/adapters/root-key/software-root-key.js'
import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import type { CustomKeyStoreRecord } from '../../src/domain/custom-key-store.js'
import { CustomKeyStoreService } from '../../src/services/custom-key-stores.js'
import { systemRandom } from '../../src/ports/random.js'

const RECORD: CustomKeyStoreRecord = {
  schemaVersion: 1,
  customKeyStoreId: 'cks-1234567890abcdef0',
  accountId: '111122223333',
  region: 'us-east-1',
  name: 'store',
  customKeyStoreType: 'AWS_CLOUDHSM',
  cloudHsmClusterId: 'cluster-aaaaaaaaaaa',
  trustAnchorCertificate: 'PEM',
  wrappedPassword: '',
  creationDate: 0,
  connectionState: 'CONNECTED',
}

describe('CustomKeyStoreService: cached store records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cks-cache-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const silent = { info() {}, error() {}, debug() {} }

  it('sees a change committed by another process (another connection to the database)', async () => {
    const path = join(dir, 'shared.db')
    const mine = await openSqliteKeyStore(path, { sharedWithOtherProcesses: true })
    const theirs = await openSqliteKeyStore(path, { sharedWithOtherProcesses: true })
    try {
      const service = new CustomKeyStoreService({
        store: mine,
        rootKey: new SoftwareRootKey(Buffer.alloc(32, 1)),
        random: systemRandom,
        logger: silent,
      })
      await theirs.insertCustomKeyStore(RECORD)
      const read = () => service.record(RECORD.region, RECORD.customKeyStoreId)
      assert.equal((await read())?.connectionState, 'CONNECTED')
      await theirs.updateCustomKeyStore({ ...RECORD, connectionState: 'DISCONNECTED' })
      assert.equal((await read())?.connectionState, 'DISCONNECTED')
      await theirs.deleteCustomKeyStore(RECORD.region, RECORD.customKeyStoreId)
      assert.equal(await read(), undefined)
    } finally {
      await mine.close()
      await theirs.close()
    }
  })

  it('forgets what it cached when this process writes through write()', async () => {
    const store = await openSqliteKeyStore(join(dir, 'own.db'))
    try {
      const service = new CustomKeyStoreService({
        store,
        rootKey: new SoftwareRootKey(Buffer.alloc(32, 1)),
        random: systemRandom,
        logger: silent,
      })
      await service.write((tx) => tx.insertCustomKeyStore(RECORD))
      const read = () => service.record(RECORD.region, RECORD.customKeyStoreId)
      assert.equal((await read())?.connectionState, 'CONNECTED')
      await service.write((tx) =>
        tx.updateCustomKeyStore({ ...RECORD, connectionState: 'DISCONNECTED' }),
      )
      assert.equal((await read())?.connectionState, 'DISCONNECTED')
    } finally {
      await store.close()
    }
  })
})

describe('CustomKeyStoreService: the health poll of external key stores', () => {
  it('logs a poll that cannot read the stores, and the process goes on', async () => {
    const store = await openSqliteKeyStore(':memory:')
    const failing = Object.create(store) as typeof store
    failing.listAllCustomKeyStores = () => Promise.reject(new Error('the database is gone'))
    const lines: string[] = []
    const service = new CustomKeyStoreService({
      store: failing,
      rootKey: new SoftwareRootKey(Buffer.alloc(32, 1)),
      random: systemRandom,
      logger: {
        info() {},
        debug() {},
        error: (message, fields) => lines.push(`${message} ${String(fields?.reason)}`),
      },
    })
    try {
      service.startHealthPolls(5)
      await new Promise((resolve) => setTimeout(resolve, 40))
      service.stopHealthPolls()
      assert.ok(lines.length >= 1)
      assert.equal(lines[0], 'external key store health poll failed Error: the database is gone')
    } finally {
      await service.close()
      await store.close()
    }
  })
})
