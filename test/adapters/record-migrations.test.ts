import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import {
  CURRENT_KEY_RECORD_VERSION,
  readKeyRecord,
} from '../../src/adapters/store-sql/record-migrations.js'
import { keyFixture } from './key-store-contract.js'

/**
 * Key records carry a schemaVersion. Fixtures of records as each released version wrote them
 * go here, and each must still read as the current shape.
 */

/** A version 1 record, exactly as Keyward 0.1 writes it. */
const V1_FIXTURE = JSON.stringify({
  schemaVersion: 1,
  keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
  accountId: '111122223333',
  region: 'us-east-1',
  arn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  creationDate: 1767225600000,
  keyState: 'Enabled',
  description: '',
  keyUsage: 'ENCRYPT_DECRYPT',
  keySpec: 'SYMMETRIC_DEFAULT',
  origin: 'AWS_KMS',
  keyManager: 'CUSTOMER',
  multiRegion: false,
  policy: '{}',
  tags: [],
  currentKeyMaterialId: 'a'.repeat(64),
})

describe('key record migrations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-records-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('reads the current version', () => {
    assert.equal(CURRENT_KEY_RECORD_VERSION, 1)
    const record = readKeyRecord(V1_FIXTURE)
    assert.deepEqual(record, JSON.parse(V1_FIXTURE))
  })

  for (const version of [0, 2, 99, undefined, '1']) {
    it(`refuses a record with schemaVersion ${JSON.stringify(version)}`, () => {
      const json = JSON.stringify({ ...JSON.parse(V1_FIXTURE), schemaVersion: version })
      assert.throws(() => readKeyRecord(json), {
        message: `key record schemaVersion ${version} is not supported by this Keyward (expects 1)`,
      })
    })
  }

  it('refuses, through the store, a row written by a newer Keyward', async () => {
    const path = join(dir, 'newer.db')
    const key = keyFixture()
    const store = await openSqliteKeyStore(path)
    await store.insertKey(key)
    await store.close()

    const db = new BetterSqlite3(path)
    db.prepare('UPDATE kms_keys SET record = ? WHERE key_id = ?').run(
      JSON.stringify({ ...key, schemaVersion: 2 }),
      key.keyId,
    )
    db.close()

    const reopened = await openSqliteKeyStore(path)
    try {
      await assert.rejects(reopened.getKey(key.region, key.keyId), {
        message: 'key record schemaVersion 2 is not supported by this Keyward (expects 1)',
      })
    } finally {
      await reopened.close()
    }
  })
})
