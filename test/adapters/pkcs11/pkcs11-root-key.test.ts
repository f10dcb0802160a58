import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms'
import { Pkcs11RootKey, parsePkcs11Uri } from '../../../src/adapters/root-key/pkcs11-root-key.js'
import { createEmbeddedKeyward } from '../../../src/server.js'
import { SOFTHSM_MISSING, startSoftHsm, type SoftHsm } from '../../support/softhsm.js'

const PIN = 'root-pin-123'

describe('root key in a PKCS#11 token (SoftHSM)', { skip: SOFTHSM_MISSING }, () => {
  let hsm: SoftHsm
  let uri: string
  before(() => {
    hsm = startSoftHsm()
    hsm.initToken({ label: 'root-token', pin: PIN })
    uri = `pkcs11:token=root-token;object=keyward-root?module-path=${hsm.modulePath}`
  })
  after(() => hsm?.cleanup())

  it('parses the RFC 7512 URI subset, and refuses a PIN in it', () => {
    assert.deepEqual(
      parsePkcs11Uri('pkcs11:token=my%20token;object=root?module-path=/usr/lib/x.so'),
      { modulePath: '/usr/lib/x.so', objectLabel: 'root', tokenLabel: 'my token' },
    )
    assert.deepEqual(parsePkcs11Uri('pkcs11:serial=abc;object=root?module-path=/m.so'), {
      modulePath: '/m.so',
      objectLabel: 'root',
      tokenSerial: 'abc',
    })
    const cases: Array<[string, RegExp]> = [
      ['file:/x', /starts with "pkcs11:"/],
      ['pkcs11:token=t;object=o', /needs \?module-path=/],
      ['pkcs11:token=t?module-path=/m.so', /needs object=/],
      ['pkcs11:object=o?module-path=/m.so', /exactly one of token=/],
      ['pkcs11:token=t;object=o?module-path=/m.so&pin-value=1234', /refusing pin-value/],
    ]
    for (const [text, message] of cases) {
      assert.throws(
        () => parsePkcs11Uri(text),
        (e: Error) => message.test(e.message) && !e.message.includes('1234'),
      )
    }
  })

  it('generates the key on first open, wraps with context binding, and keeps its fingerprint', async () => {
    const location = parsePkcs11Uri(uri.replace('keyward-root', 'unit-root'))
    const first = await Pkcs11RootKey.open(location, { pin: PIN })
    assert.equal(first.created, true)
    const wrapped = await first.rootKey.wrap(Buffer.from('material'), 'context-a')
    assert.equal(wrapped[0], 0x02)
    assert.deepEqual(await first.rootKey.unwrap(wrapped, 'context-a'), Buffer.from('material'))
    await assert.rejects(first.rootKey.unwrap(wrapped, 'context-b'), /does not open/)
    const tampered = Buffer.from(wrapped)
    tampered[tampered.length - 1]! ^= 1
    await assert.rejects(first.rootKey.unwrap(tampered, 'context-a'), /does not open/)
    const second = await Pkcs11RootKey.open(location, { pin: PIN })
    assert.equal(second.created, false)
    assert.equal(second.rootKey.fingerprint, first.rootKey.fingerprint)
    assert.match(first.rootKey.fingerprint, /^[0-9a-f]{32}$/)
    assert.deepEqual(await second.rootKey.unwrap(wrapped, 'context-a'), Buffer.from('material'))
    const other = await Pkcs11RootKey.open({ ...location, objectLabel: 'other-root' }, { pin: PIN })
    assert.notEqual(other.rootKey.fingerprint, first.rootKey.fingerprint)
    await Promise.all([first, second, other].map((o) => o.rootKey.close()))
  })

  it('serves Keyward (--root-key), whose keys survive a restart, and refuses another root key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyward-pkcs11-root-'))
    const env = { KEYWARD_ROOT_KEY_PIN: PIN }
    const start = (rootKeyUri: string) =>
      createEmbeddedKeyward({
        dataDir,
        dev: true,
        env,
        rootKeyUri,
        logger: { debug() {}, info() {}, error() {} },
      })
    const client = (endpoint: string) =>
      new KMSClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIADEVTEST000000001', secretAccessKey: 'anything' },
        maxAttempts: 1,
      })
    try {
      const first = await start(uri)
      assert.match(first.rootKeySource, /^PKCS#11 object keyward-root in /)
      const address = await first.keyward.listen(0, '127.0.0.1')
      const kms = client(`http://127.0.0.1:${address.port}`)
      const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('kept') }),
      )
      kms.destroy()
      await first.keyward.close()

      const second = await start(uri)
      const again = await second.keyward.listen(0, '127.0.0.1')
      const kms2 = client(`http://127.0.0.1:${again.port}`)
      const out = await kms2.send(new DecryptCommand({ CiphertextBlob }))
      assert.equal(Buffer.from(out.Plaintext!).toString(), 'kept')
      kms2.destroy()
      await second.keyward.close()

      // A label the token lacks: refused before any key is made there.
      await assert.rejects(start(uri.replace('object=keyward-root', 'object=another-root')), {
        message: `The token has no key labelled another-root, but the database ${join(dataDir, 'keyward.db')} records a root key; refusing to create a new one (the keys would be unreadable). Restore the token's key, or point --root-key at the token that holds it.`,
      })
      const lookup = await Pkcs11RootKey.open(
        { ...parsePkcs11Uri(uri), objectLabel: 'spare-root' },
        { pin: PIN },
      )
      await lookup.rootKey.close()
      // A key the token has, but not the database's.
      await assert.rejects(start(uri.replace('object=keyward-root', 'object=spare-root')), {
        message: `The root key (PKCS#11 object spare-root in ${hsm.modulePath}) does not match the one the database ${join(dataDir, 'keyward.db')} was created with; refusing to start (the keys would be unreadable).`,
      })
      const after = await Pkcs11RootKey.open(
        { ...parsePkcs11Uri(uri), objectLabel: 'another-root' },
        { pin: PIN },
      )
      assert.equal(after.created, true, 'the refused start made no another-root key')
      await after.rootKey.close()
      await assert.rejects(
        createEmbeddedKeyward({ dataDir, env: {}, rootKeyUri: uri }),
        /needs the token user PIN in KEYWARD_ROOT_KEY_PIN/,
      )
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
