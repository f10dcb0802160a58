import assert from 'node:assert/strict'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
} from '@aws-sdk/client-kms'
import BetterSqlite3 from 'better-sqlite3'
import { SoftwareRootKey } from '../src/adapters/root-key/software-root-key.js'
import { startServe, stopServe, type ServeProcess } from './support/cli-process.js'

/**
 * What a client saw acknowledged survives `kill -9` (SQLite WAL with synchronous=FULL), a clean
 * SIGTERM exits 0, and neither the database nor its write-ahead log ever holds key material
 * in clear: only the root key's wrapping of it.
 */

const PLAINTEXT = Buffer.from('survives kill -9')

/** Wrapped material rows, read from a copy so that the server's files are not touched. */
function wrappedMaterials(dataDir: string, scratch: string) {
  for (const suffix of ['', '-wal']) {
    const from = join(dataDir, `keyward.db${suffix}`)
    if (existsSync(from)) copyFileSync(from, join(scratch, `copy.db${suffix}`))
  }
  const db = new BetterSqlite3(join(scratch, 'copy.db'))
  try {
    return db
      .prepare('SELECT region, key_id, key_material_id, wrapped FROM kms_key_materials')
      .all() as Array<{ region: string; key_id: string; key_material_id: string; wrapped: Buffer }>
  } finally {
    db.close()
  }
}

describe('durability of the embedded server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-durability-'))
  const scratch = mkdtempSync(join(tmpdir(), 'keyward-durability-copy-'))
  const running: ServeProcess[] = []
  const clients: KMSClient[] = []
  after(async () => {
    for (const c of clients) c.destroy()
    for (const p of running) await stopServe(p, 'SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(scratch, { recursive: true, force: true })
  })

  const serve = async () => {
    const p = await startServe(['--dev', '--port', '0', '--data-dir', dataDir])
    running.push(p)
    const client = new KMSClient({
      endpoint: p.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIADEVELOPMENT00001', secretAccessKey: 'dev-mode' },
      maxAttempts: 1,
    })
    clients.push(client)
    return { process: p, kms: client }
  }

  let keyId = ''
  let ciphertext: Uint8Array | undefined
  let afterKill: { db: Buffer; wal: Buffer } | undefined

  it('keeps a key whose CreateKey was acknowledged just before kill -9', async () => {
    const first = await serve()
    const { KeyMetadata } = await first.kms.send(new CreateKeyCommand({ Description: 'durable' }))
    first.process.child.kill('SIGKILL')
    assert.equal((await first.process.exited).signal, 'SIGKILL')
    keyId = KeyMetadata!.KeyId!

    const second = await serve()
    const described = await second.kms.send(new DescribeKeyCommand({ KeyId: keyId }))
    assert.equal(described.KeyMetadata?.Description, 'durable')
    assert.equal(described.KeyMetadata?.KeyState, 'Enabled')

    await second.kms.send(
      new CreateAliasCommand({ AliasName: 'alias/durable', TargetKeyId: keyId }),
    )
    const encrypted = await second.kms.send(
      new EncryptCommand({ KeyId: 'alias/durable', Plaintext: PLAINTEXT }),
    )
    ciphertext = encrypted.CiphertextBlob
    second.process.child.kill('SIGKILL')
    assert.equal((await second.process.exited).signal, 'SIGKILL')
    // The write-ahead log as the killed process left it, before any checkpoint.
    afterKill = {
      db: readFileSync(join(dataDir, 'keyward.db')),
      wal: readFileSync(join(dataDir, 'keyward.db-wal')),
    }
    assert.ok(afterKill.wal.length > 0, 'the last writes are still in the WAL')
  })

  it('keeps the alias and decrypts the ciphertext after restart, then exits 0 on SIGTERM', async () => {
    assert.ok(ciphertext, 'the previous test produced a ciphertext')
    const third = await serve()
    const byAlias = await third.kms.send(new DescribeKeyCommand({ KeyId: 'alias/durable' }))
    assert.equal(byAlias.KeyMetadata?.KeyId, keyId)
    const decrypted = await third.kms.send(new DecryptCommand({ CiphertextBlob: ciphertext }))
    assert.deepEqual(Buffer.from(decrypted.Plaintext!), PLAINTEXT)
    assert.equal(decrypted.KeyId, byAlias.KeyMetadata?.Arn)

    const exit = await stopServe(third.process, 'SIGTERM')
    assert.deepEqual(exit, { code: 0, signal: null }, third.process.stderr())
    // A clean close checkpoints the log into the database file.
    const wal = join(dataDir, 'keyward.db-wal')
    assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'the WAL was checkpointed')
  })

  it('never writes key material in clear to the database or its WAL', async () => {
    assert.ok(afterKill, 'the first test captured the files')
    const rows = wrappedMaterials(dataDir, scratch)
    assert.equal(rows.length, 1)
    const root = new SoftwareRootKey(
      Buffer.from(readFileSync(join(dataDir, 'root.key'), 'utf8').trim(), 'base64'),
    )
    const checkpointed = readFileSync(join(dataDir, 'keyward.db'))
    for (const row of rows) {
      // The context KeyService binds to each wrapped material (src/services/key-service.ts).
      const context = `keyward:key-material:v1:${row.region}:${row.key_id}:${row.key_material_id}`
      const material = await root.unwrap(Buffer.from(row.wrapped), context)
      assert.equal(material.length, 32)
      for (const [name, bytes] of [
        ['database after kill -9', afterKill.db],
        ['WAL after kill -9', afterKill.wal],
        ['database after checkpoint', checkpointed],
      ] as const) {
        assert.equal(bytes.indexOf(material), -1, `raw material found in the ${name}`)
        assert.equal(
          bytes.indexOf(material.subarray(0, 16)),
          -1,
          `half the raw material found in the ${name}`,
        )
      }
      assert.ok(
        afterKill.db.indexOf(row.wrapped) >= 0 || afterKill.wal.indexOf(row.wrapped) >= 0,
        'the wrapped material is on disk after kill -9',
      )
      assert.ok(checkpointed.indexOf(row.wrapped) >= 0, 'the wrapped material is in the database')
    }
  })
})
