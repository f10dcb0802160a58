import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Pkcs11KeyManager } from '../../src/xks-proxy/backends/pkcs11-key-manager.js'
import { childEnv, KEYWARD_BIN, REPO_ROOT } from '../support/cli-process.js'
import { SOFTHSM_MISSING, startSoftHsm, type SoftHsm } from '../support/softhsm.js'
import { createTestPki, type TestPki } from '../support/test-pki.js'
import { xksRequest } from '../support/xks-client.js'
import { startConfiguredXksProxy, type ConfiguredXksProxy } from '../support/xks-proxy.js'
import { decryptBody, encryptWith, expectXksError, flipFirstBit, metadata } from './support.js'

/**
 * The PKCS#11 backend on SoftHSMv2: keys are token objects found by CKA_LABEL, their
 * CKA_ENCRYPT/CKA_DECRYPT flags are the usages, and the token's own errors map to the spec's
 * (CKR_KEY_FUNCTION_NOT_PERMITTED → InvalidKeyUsageException, SoftHSM's CKR_GENERAL_ERROR on a
 * bad tag → InvalidCiphertextException).
 */

const PIN = '1234'
const PLAINTEXT = Buffer.from('inner KMS ciphertext')
const AAD = Buffer.from('header and encryption context hash')

describe('XKS proxy on a PKCS#11 token (SoftHSMv2)', { skip: SOFTHSM_MISSING }, () => {
  let hsm: SoftHsm
  let pki: TestPki
  let xks: ConfiguredXksProxy
  let serial: string

  before(async () => {
    hsm = startSoftHsm()
    serial = hsm.initToken({ label: 'xks', pin: PIN })
    pki = createTestPki()
    xks = await startConfiguredXksProxy({
      pki,
      backend: { modulePath: hsm.modulePath, tokenLabel: 'xks', pin: PIN },
    })
    await xks.createKey('foo')
    await xks.createKey('enc', { usage: ['ENCRYPT'] })
    await xks.createKey('dec', { usage: ['DECRYPT'] })
  })
  after(async () => {
    await xks?.stop()
    pki?.remove()
    hsm?.cleanup()
  })

  it('reports the token in health answers, ACTIVE after a round trip on the health key', async () => {
    const r = await xksRequest(xks, {
      path: 'health',
      body: { requestMetadata: { kmsRequestId: 'r', kmsOperation: 'KmsHealthCheck' } },
    })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.json!.ekmVendor, 'SoftHSM project')
    const [ekm] = r.json!.ekmFleetDetails as Array<Record<string, string>>
    assert.equal(ekm!.id, serial)
    assert.match(ekm!.model!, /^SoftHSM v2 \(label xks, hardware \d+\.\d+, firmware \d+\.\d+\)$/)
    // ACTIVE, or DEGRADED when this busy machine made the round trip slower than 100 ms.
    assert.match(ekm!.healthStatus!, /^(ACTIVE|DEGRADED)$/)
  })

  it('reads key spec and usages from the token object', async () => {
    const meta = async (id: string) =>
      (
        await xksRequest(xks, {
          path: `keys/${id}/metadata`,
          body: { requestMetadata: metadata('DescribeKey') },
        })
      ).json
    assert.deepEqual(await meta('foo'), {
      keySpec: 'AES_256',
      keyUsage: ['ENCRYPT', 'DECRYPT'],
      keyStatus: 'ENABLED',
    })
    assert.deepEqual((await meta('enc'))!.keyUsage, ['ENCRYPT'])
    assert.deepEqual((await meta('dec'))!.keyUsage, ['DECRYPT'])
    await xks.disableKey('foo')
    assert.equal((await meta('foo'))!.keyStatus, 'DISABLED')
    expectXksError(
      await encryptWith(xks, 'foo', { plaintext: PLAINTEXT }),
      400,
      'InvalidStateException',
    )
    await xks.proxy.store.setDisabled('foo', false)
    const missing = await xksRequest(xks, {
      path: 'keys/nope/metadata',
      body: { requestMetadata: metadata('DescribeKey') },
    })
    expectXksError(missing, 404, 'KeyNotFoundException', 'No external key with id nope.')
  })

  it('encrypts and decrypts in the token, with the tag split off, CDIV verified', async () => {
    const e = await encryptWith(xks, 'foo', {
      plaintext: Buffer.alloc(4300, 1),
      aad: Buffer.alloc(8192, 2),
      cdiv: true,
    })
    assert.equal(e.status, 200, e.text)
    assert.equal(Buffer.from(String(e.json!.ciphertext), 'base64').length, 4300)
    assert.equal(Buffer.from(String(e.json!.authenticationTag), 'base64').length, 16)
    const d = await xksRequest(xks, {
      path: 'keys/foo/decrypt',
      body: decryptBody(e.json!, { aad: Buffer.alloc(8192, 2) }),
    })
    assert.equal(d.status, 200)
    assert.ok(Buffer.from(String(d.json!.plaintext), 'base64').equals(Buffer.alloc(4300, 1)))
  })

  it('maps the token errors: wrong usage, bad tag, changed metadata, unknown key', async () => {
    const sealed = (await encryptWith(xks, 'enc', { plaintext: PLAINTEXT, aad: AAD })).json!
    expectXksError(
      await xksRequest(xks, { path: 'keys/enc/decrypt', body: decryptBody(sealed, { aad: AAD }) }),
      400,
      'InvalidKeyUsageException',
      'External key enc does not permit decryption.',
    )
    expectXksError(
      await encryptWith(xks, 'enc', { plaintext: PLAINTEXT, cdiv: true }),
      400,
      'InvalidKeyUsageException',
      'External key enc does not permit decryption.',
    )
    expectXksError(
      await encryptWith(xks, 'dec', { plaintext: PLAINTEXT }),
      400,
      'InvalidKeyUsageException',
      'External key dec does not permit encryption.',
    )
    const good = (await encryptWith(xks, 'foo', { plaintext: PLAINTEXT, aad: AAD })).json!
    for (const changes of [
      { authenticationTag: flipFirstBit(good.authenticationTag) },
      { ciphertext: flipFirstBit(good.ciphertext) },
      { ciphertextMetadata: 'Ag==' },
      { ciphertextMetadata: undefined },
    ]) {
      const r = await xksRequest(xks, {
        path: 'keys/foo/decrypt',
        body: decryptBody(good, { aad: AAD, changes }),
      })
      expectXksError(r, 400, 'InvalidCiphertextException')
    }
    // Two objects with one label: ambiguous, so not found (as the reference proxy answers).
    const again = await Pkcs11KeyManager.open({
      modulePath: hsm.modulePath,
      tokenLabel: 'xks',
      pin: PIN,
    })
    try {
      await assert.rejects(again.createKey('foo', { usage: ['ENCRYPT'] }), /already exists/)
    } finally {
      await again.close()
    }
  })

  it('keyward xks-proxy keys manages token keys from another process while the proxy runs', async () => {
    const config = join(xks.dataDir, 'config.json')
    writeFileSync(
      config,
      JSON.stringify({
        plainHttp: true,
        dataDir: xks.dataDir,
        backend: { type: 'pkcs11', modulePath: hsm.modulePath, tokenLabel: 'xks' },
        keyStores: [
          {
            uriPath: xks.uriPath,
            credentials: [
              {
                accessKeyId: xks.credential.AccessKeyId,
                secretAccessKey: xks.credential.RawSecretAccessKey,
              },
            ],
          },
        ],
      }),
    )
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [KEYWARD_BIN, 'xks-proxy', 'keys', ...args, '--config', config], {
        cwd: REPO_ROOT,
        env: childEnv({ SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, KEYWARD_XKS_PKCS11_PIN: PIN }),
        encoding: 'utf8',
        timeout: 20_000,
      })
    const created = cli('create', 'from-cli', '--usage', 'DECRYPT')
    assert.equal(created.status, 0, created.stderr)
    assert.equal(created.stdout, 'Created key from-cli (AES_256, DECRYPT) in the pkcs11 backend.\n')
    const meta = await xksRequest(xks, {
      path: 'keys/from-cli/metadata',
      body: { requestMetadata: metadata('DescribeKey') },
    })
    assert.deepEqual(meta.json, { keySpec: 'AES_256', keyUsage: ['DECRYPT'], keyStatus: 'ENABLED' })
    const list = cli('list')
    assert.equal(list.status, 0, list.stderr)
    assert.match(list.stdout, /^from-cli\tAES_256\tDECRYPT\tENABLED$/m)
    assert.doesNotMatch(list.stdout, /keyward:xks-health-check/)
    assert.equal(cli('disable', 'from-cli').status, 0)
    const disabled = await xksRequest(xks, {
      path: 'keys/from-cli/metadata',
      body: { requestMetadata: metadata('DescribeKey') },
    })
    assert.equal(disabled.json!.keyStatus, 'DISABLED')
    assert.equal(cli('delete', 'from-cli').status, 0)
    const gone = await xksRequest(xks, {
      path: 'keys/from-cli/metadata',
      body: { requestMetadata: metadata('DescribeKey') },
    })
    expectXksError(gone, 404, 'KeyNotFoundException')
    const noPin = spawnSync(
      process.execPath,
      [KEYWARD_BIN, 'xks-proxy', 'keys', 'list', '--config', config],
      {
        cwd: REPO_ROOT,
        env: childEnv({ SOFTHSM2_CONF: process.env.SOFTHSM2_CONF! }),
        encoding: 'utf8',
      },
    )
    assert.equal(noPin.status, 1)
    assert.match(noPin.stderr, /backend: no PIN \(set backend.pin or KEYWARD_XKS_PKCS11_PIN\)/)
  })
})
