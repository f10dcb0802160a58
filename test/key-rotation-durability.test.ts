import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms'
import { SoftwareRootKey } from '../src/adapters/root-key/software-root-key.js'
import { openSqliteKeyStore } from '../src/adapters/store-sql/open-sqlite.js'
import { adminCaller } from '../src/config/principals.js'
import { ManualClock } from '../src/ports/clock.js'
import { createKeyward, type Keyward } from '../src/server.js'
import { startServe, stopServe, type ServeProcess } from './support/cli-process.js'
import { ClockedClients } from './support/clocked-clients.js'
import { ADMIN, CapturingLogger } from './support/keyward-server.js'

/**
 * Rotation state is durable like everything else: what a client saw acknowledged (a rotation
 * schedule, an on-demand rotation) survives `kill -9`, and a rotation that fell due while
 * Keyward was down happens at start-up, once.
 */

const DAY_MS = 86_400_000

describe('key rotation across restarts', () => {
  const dirs: string[] = []
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-rotation-durability-'))
    dirs.push(dir)
    return dir
  }

  it('performs a rotation that fell due during downtime at start-up, once', async () => {
    const dir = tempDir()
    const clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'))
    const clients = new ClockedClients(clock)
    /** A Keyward over the same database file and root key each time, as after a restart. */
    const start = async (): Promise<{ keyward: Keyward; endpoint: string }> => {
      const keyward = await createKeyward({
        store: await openSqliteKeyStore(join(dir, 'keyward.db')),
        rootKey: new SoftwareRootKey(Buffer.alloc(32, 9)),
        principals: {
          credentials: new Map([
            [
              ADMIN.accessKeyId,
              { secretAccessKey: ADMIN.secretAccessKey, principal: adminCaller() },
            ],
          ]),
        },
        clock,
        logger: new CapturingLogger(),
      })
      const { port } = await keyward.listen(0, '127.0.0.1')
      return { keyward, endpoint: `http://127.0.0.1:${port}` }
    }
    try {
      const first = await start()
      const kms = () => clients.kms(first.endpoint)
      const { KeyMetadata } = await kms().send(new CreateKeyCommand({}))
      const keyId = KeyMetadata!.KeyId!
      await kms().send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }))
      const blob = (
        await kms().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before') }))
      ).CiphertextBlob!
      await first.keyward.close()
      clients.destroy()

      // Down for three periods and a bit.
      clock.advance(3 * 90 * DAY_MS + DAY_MS)
      const second = await start()
      try {
        // The start-up run is under way or done; this waits for it (runs never overlap).
        await second.keyward.scheduler.runOnce()
        const kms2 = () => clients.kms(second.endpoint)
        const { Rotations } = await kms2().send(new ListKeyRotationsCommand({ KeyId: keyId }))
        assert.equal(Rotations!.length, 1, 'one rotation, not one per missed period')
        assert.equal(Rotations![0]!.RotationType, 'AUTOMATIC')
        assert.equal(Rotations![0]!.RotationDate!.getTime(), clock.now())
        const described = await kms2().send(new DescribeKeyCommand({ KeyId: keyId }))
        assert.equal(described.KeyMetadata!.CurrentKeyMaterialId, Rotations![0]!.KeyMaterialId)
        const status = await kms2().send(new GetKeyRotationStatusCommand({ KeyId: keyId }))
        assert.equal(status.NextRotationDate!.getTime(), clock.now() + 90 * DAY_MS)
        const opened = await kms2().send(new DecryptCommand({ CiphertextBlob: blob }))
        assert.equal(Buffer.from(opened.Plaintext!).toString(), 'before')
        assert.equal(opened.KeyMaterialId, KeyMetadata!.CurrentKeyMaterialId)
      } finally {
        await second.keyward.close()
      }
    } finally {
      clients.destroy()
    }
  })

  describe('kill -9 of the real CLI', () => {
    const dataDir = tempDir()
    const running: ServeProcess[] = []
    const sdkClients: KMSClient[] = []
    after(async () => {
      for (const c of sdkClients) c.destroy()
      for (const p of running) await stopServe(p, 'SIGKILL')
    })
    const serve = async () => {
      const p = await startServe(['--dev', '--port', '0', '--data-dir', dataDir])
      running.push(p)
      const kms = new KMSClient({
        endpoint: p.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIADEVELOPMENT00001', secretAccessKey: 'dev-mode' },
        maxAttempts: 1,
      })
      sdkClients.push(kms)
      return { process: p, kms }
    }

    it('keeps an acknowledged schedule and on-demand rotation; both materials still decrypt', async () => {
      const first = await serve()
      const { KeyMetadata } = await first.kms.send(new CreateKeyCommand({}))
      const keyId = KeyMetadata!.KeyId!
      const before = (
        await first.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('one') }))
      ).CiphertextBlob!
      await first.kms.send(
        new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 180 }),
      )
      await first.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))
      const afterRotation = (
        await first.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('two') }))
      ).CiphertextBlob!
      const status = await first.kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))
      const rotations = await first.kms.send(new ListKeyRotationsCommand({ KeyId: keyId }))
      first.process.child.kill('SIGKILL')
      assert.equal((await first.process.exited).signal, 'SIGKILL')

      const second = await serve()
      const { $metadata: _before, ...acknowledged } = status
      const { $metadata: _after, ...reread } = await second.kms.send(
        new GetKeyRotationStatusCommand({ KeyId: keyId }),
      )
      assert.deepEqual(reread, acknowledged)
      assert.equal(reread.RotationPeriodInDays, 180)
      const again = await second.kms.send(new ListKeyRotationsCommand({ KeyId: keyId }))
      assert.deepEqual(again.Rotations, rotations.Rotations)
      const one = await second.kms.send(new DecryptCommand({ CiphertextBlob: before }))
      assert.equal(one.KeyMaterialId, KeyMetadata!.CurrentKeyMaterialId)
      const two = await second.kms.send(new DecryptCommand({ CiphertextBlob: afterRotation }))
      assert.equal(two.KeyMaterialId, rotations.Rotations![0]!.KeyMaterialId)
      assert.equal(Buffer.from(two.Plaintext!).toString(), 'two')
      assert.deepEqual(await stopServe(second.process, 'SIGTERM'), { code: 0, signal: null })
    })
  })
})
