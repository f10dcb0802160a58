import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
} from '@aws-sdk/client-kms'
import { SoftwareRootKey } from '../../src/adapters/root-key/software-root-key.js'
import { SqliteRewrapStore } from '../../src/adapters/store-sql/rewrap-store.js'
import { WRAPPED_KINDS } from '../../src/ports/rewrap-store.js'
import {
  finishRotation,
  rotateRootKey,
  ROTATION_SETTING,
} from '../../src/services/root-key-rotation.js'
import { ImportWorkspace, importMaterial } from '../support/key-import.js'
import {
  childEnv,
  KEYWARD_BIN,
  REPO_ROOT,
  runKeyward,
  serveSandbox,
  stopServe,
} from '../support/cli-process.js'

/** `keyward root-key rotate` while serving: interrupted, resumed, and every value re-wrapped. */

const run = (args: string[]) => runKeyward(args, { timeoutMs: 120_000 })

const keyOf = (path: string) =>
  new SoftwareRootKey(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64'))

describe('keyward root-key rotate', () => {
  const box = serveSandbox('keyward-rotate-')
  const ws = new ImportWorkspace()
  after(async () => {
    await box.cleanup()
    ws.remove()
  })

  it('re-wraps everything under a new root key while serving, resuming an interrupted run', async () => {
    const dataDir = box.tempDir()
    const served = await box.serve(['--dev', '--port', '0', '--data-dir', dataDir])
    const kms = box.devClient(served.url)
    const encrypt = async (keyId: string, text: string) =>
      (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) })))
        .CiphertextBlob!
    const decrypt = async (blob: Uint8Array) =>
      Buffer.from(
        (await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!,
      ).toString()
    const keys: string[] = []
    for (let i = 0; i < 3; i++)
      keys.push((await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!)
    const external = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!
      .KeyId!
    const material = ws.rand(32)
    await importMaterial(kms, ws, { keyId: external, material })
    await kms.send(
      new CreateGrantCommand({
        KeyId: keys[0]!,
        GranteePrincipal: 'arn:aws:iam::111122223333:role/app',
        Operations: ['Decrypt'],
      }),
    )
    const before = await Promise.all([...keys, external].map((k) => encrypt(k, `before ${k}`)))
    const oldKey = keyOf(join(dataDir, 'root.key'))

    // A run that stops after its first batches, as a crash would: progress is recorded.
    writeFileSync(join(dataDir, 'root.key.next'), randomBytes(32).toString('base64') + '\n', {
      mode: 0o600,
    })
    const newKey = keyOf(join(dataDir, 'root.key.next'))
    const store = SqliteRewrapStore.open(join(dataDir, 'keyward.db'))
    let batches = 0
    await assert.rejects(
      rotateRootKey(store, {
        from: oldKey,
        to: newKey,
        batchSize: 1,
        onProgress: () => {
          if (++batches === 3) throw new Error('crash')
        },
      }),
      { message: 'crash' },
    )
    const state = JSON.parse(store.getSetting(ROTATION_SETTING)!) as { done: number; to: string }
    assert.equal(state.done, 3)
    assert.equal(state.to, newKey.fingerprint)
    store.close()
    // Half re-wrapped: the server still opens everything, and makes new keys meanwhile.
    for (const [i, k] of [...keys, external].entries()) {
      assert.equal(await decrypt(before[i]!), `before ${k}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 1_200)) // the server notices the rotation
    const during = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
    const duringBlob = await encrypt(during, 'during')

    const r = run(['root-key', 'rotate', '--data-dir', dataDir, '--json', '--settle-ms', '1200'])
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    assert.equal(out.from, oldKey.fingerprint)
    assert.equal(out.to, newKey.fingerprint)
    assert.equal(out.resumed, true)
    assert.equal(out.retiredKeyFile, join(dataDir, `root.key.retired-${oldKey.fingerprint}`))
    assert.equal(keyOf(join(dataDir, 'root.key')).fingerprint, newKey.fingerprint)
    assert.equal(keyOf(String(out.retiredKeyFile)).fingerprint, oldKey.fingerprint)
    assert.ok(!existsSync(join(dataDir, 'root.key.next')))

    // Still serving: before, during and after the rotation.
    const afterKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
    const afterBlob = await encrypt(afterKey, 'after')
    assert.equal(await decrypt(duringBlob), 'during')
    assert.equal(await decrypt(afterBlob), 'after')

    // The rotation is over in the database, and it went over every wrapped value.
    const check = SqliteRewrapStore.open(join(dataDir, 'keyward.db'))
    assert.equal(check.getSetting(ROTATION_SETTING), undefined)
    const kinds = WRAPPED_KINDS.map((kind) => [kind, check.page(kind, undefined, 1_000).length])
    check.close()
    // 6 keys' material, the EXTERNAL key's material-ID secret, grant and session secrets.
    assert.deepEqual(Object.fromEntries(kinds), {
      setting: 2,
      customKeyStore: 0,
      materialIdKey: 1,
      material: 6,
    })
    // At the resumed run: 5 materials, the material-ID secret and 2 token secrets; 3 were done
    // before the crash, and the key made during the rotation was wrapped under the new key
    // by the server already (unless it had not looked yet: then the run re-wrapped it).
    assert.equal(out.values, 8)
    assert.ok(out.rewrapped === 4 || out.rewrapped === 5, JSON.stringify(out))

    // Without the old key at all, a restarted server opens everything made at any time.
    await stopServe(served)
    renameSync(String(out.retiredKeyFile), join(box.tempDir(), 'old-root.key'))
    const restarted = await box.serve(['--dev', '--port', '0', '--data-dir', dataDir])
    const kms2 = box.devClient(restarted.url)
    for (const [i, k] of [...keys, external].entries()) {
      const { Plaintext } = await kms2.send(new DecryptCommand({ CiphertextBlob: before[i]! }))
      assert.equal(Buffer.from(Plaintext!).toString(), `before ${k}`)
    }
    for (const [blob, text] of [
      [duringBlob, 'during'],
      [afterBlob, 'after'],
    ] as const) {
      const { Plaintext } = await kms2.send(new DecryptCommand({ CiphertextBlob: blob }))
      assert.equal(Buffer.from(Plaintext!).toString(), text)
    }
    // The secrets too: a grant (the grant-token secret), the same material imported again
    // (the EXTERNAL key's material-ID secret); the session-token secret opened at start.
    await kms2.send(
      new CreateGrantCommand({
        KeyId: keys[1]!,
        GranteePrincipal: 'arn:aws:iam::111122223333:role/app',
        Operations: ['Decrypt'],
      }),
    )
    await importMaterial(kms2, ws, { keyId: external, material })
  })

  it('finishes a rotation that stopped after the database recorded the new key', async () => {
    const dataDir = box.tempDir()
    const served = await box.serve(['--dev', '--port', '0', '--data-dir', dataDir])
    const kms = box.devClient(served.url)
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept') }),
    )
    await stopServe(served)
    // Everything done in the database, then a crash before the files were moved.
    const oldKey = keyOf(join(dataDir, 'root.key'))
    writeFileSync(join(dataDir, 'root.key.next'), randomBytes(32).toString('base64') + '\n', {
      mode: 0o600,
    })
    const newKey = keyOf(join(dataDir, 'root.key.next'))
    const store = SqliteRewrapStore.open(join(dataDir, 'keyward.db'))
    await rotateRootKey(store, { from: oldKey, to: newKey })
    finishRotation(store, newKey.fingerprint)
    store.close()

    const r = run(['root-key', 'rotate', '--data-dir', dataDir, '--json', '--settle-ms', '0'])
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    assert.equal(out.from, oldKey.fingerprint)
    assert.equal(out.to, newKey.fingerprint)
    assert.equal(keyOf(join(dataDir, 'root.key')).fingerprint, newKey.fingerprint)
    assert.equal(keyOf(String(out.retiredKeyFile)).fingerprint, oldKey.fingerprint)
    assert.ok(!existsSync(join(dataDir, 'root.key.next')))
    renameSync(String(out.retiredKeyFile), join(box.tempDir(), 'old-root.key'))
    const restarted = await box.serve(['--dev', '--port', '0', '--data-dir', dataDir])
    const kms2 = box.devClient(restarted.url)
    const { Plaintext } = await kms2.send(new DecryptCommand({ CiphertextBlob }))
    assert.equal(Buffer.from(Plaintext!).toString(), 'kept')
  })

  it('refuses a root key from the environment, and a bad --settle-ms', () => {
    const env = spawnSync(process.execPath, [KEYWARD_BIN, 'root-key', 'rotate'], {
      cwd: REPO_ROOT,
      env: childEnv({ KEYWARD_ROOT_KEY: randomBytes(32).toString('base64') }),
      encoding: 'utf8',
    })
    assert.equal(env.status, 1)
    assert.equal(
      env.stderr,
      'root-key rotate re-wraps under a new <data-dir>/root.key; a root key from KEYWARD_ROOT_KEY or a PKCS#11 token (KEYWARD_ROOT_KEY_URI) cannot be rotated this way.\n',
    )
    const settle = run(['root-key', 'rotate', '--settle-ms', 'soon'])
    assert.equal(settle.status, 1)
    assert.equal(settle.stderr, 'invalid --settle-ms: soon\n')
  })
})
