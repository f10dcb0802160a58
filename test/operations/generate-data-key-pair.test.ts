import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  type DataKeyPairSpec,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { KEY_SPECS, type KeySpec } from '../../src/domain/key-specs.js'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { OpenSslWorkspace } from '../support/openssl.js'
import { createSymmetricKey, NO_MESSAGE, type TestKey } from './crypto-fixtures.js'

/**
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext for every DataKeyPairSpec of the
 * table: OpenSSL reads the PKCS #8 private key and derives from it exactly the SPKI public key
 * returned; the sealed private key opens through Decrypt with the same encryption context only.
 */
const PAIR_SPECS = (Object.keys(KEY_SPECS) as KeySpec[]).filter((s) => KEY_SPECS[s].dataKeyPair)
const CONTEXT = { purpose: 'data key pair test' }

describe('GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext', () => {
  let kw: TestServer
  let kms: KMSClient
  let kek: TestKey
  const ws = new OpenSslWorkspace()
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    kek = await createSymmetricKey(kms)
  })
  after(async () => {
    ws.remove()
    await kw.close()
  })

  /** The SPKI OpenSSL derives from a PKCS #8 DER private key. */
  const publicKeyOf = (pkcs8: Uint8Array) =>
    ws.produce(['pkey', '-inform', 'DER', '-in', ws.file(pkcs8), '-pubout', '-outform', 'DER'])

  const decrypt = async (blob: Uint8Array, context?: Record<string, string>) =>
    Buffer.from(
      (await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context })))
        .Plaintext!,
    )

  it('offers exactly the DataKeyPairSpec values of the API', () => {
    assert.deepEqual([...PAIR_SPECS].sort(), [
      'ECC_NIST_EDWARDS25519',
      'ECC_NIST_P256',
      'ECC_NIST_P384',
      'ECC_NIST_P521',
      'ECC_SECG_P256K1',
      'RSA_2048',
      'RSA_3072',
      'RSA_4096',
      'SM2',
    ])
  })

  for (const spec of PAIR_SPECS) {
    it(`${spec}: a PKCS #8 private key, its SPKI, and the private key sealed with the context`, async () => {
      const out = await kms.send(
        new GenerateDataKeyPairCommand({
          KeyId: kek.keyId,
          KeyPairSpec: spec as DataKeyPairSpec,
          EncryptionContext: CONTEXT,
        }),
      )
      assert.equal(out.KeyId, kek.arn)
      assert.equal(out.KeyPairSpec, spec)
      assert.equal(out.KeyMaterialId, kek.keyMaterialId)
      const privateKey = Buffer.from(out.PrivateKeyPlaintext!)
      assert.deepEqual(publicKeyOf(privateKey), Buffer.from(out.PublicKey!))
      assert.deepEqual(await decrypt(out.PrivateKeyCiphertextBlob!, CONTEXT), privateKey)
      await expectKmsError(
        decrypt(out.PrivateKeyCiphertextBlob!),
        'InvalidCiphertextException',
        NO_MESSAGE,
      )

      // RSA_4096 key generation takes seconds; the WithoutPlaintext variant shares every line
      // of pair generation with the one above, so it is exercised with the other specs only.
      if (spec === 'RSA_4096') return
      const bare = await kms.send(
        new GenerateDataKeyPairWithoutPlaintextCommand({
          KeyId: kek.keyId,
          KeyPairSpec: spec as DataKeyPairSpec,
        }),
      )
      assert.equal('PrivateKeyPlaintext' in bare, false)
      assert.equal(bare.KeyId, kek.arn)
      assert.equal(bare.KeyPairSpec, spec)
      assert.equal(bare.KeyMaterialId, kek.keyMaterialId)
      const opened = await decrypt(bare.PrivateKeyCiphertextBlob!)
      assert.deepEqual(publicKeyOf(opened), Buffer.from(bare.PublicKey!))
      assert.notDeepEqual(bare.PublicKey, out.PublicKey, 'a fresh pair every time')
    })
  }

  it('refuses asymmetric and HMAC keys with InvalidKeyUsageException', async () => {
    const rsa = await kms.send(
      new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }),
    )
    await expectKmsError(
      kms.send(
        new GenerateDataKeyPairCommand({
          KeyId: rsa.KeyMetadata!.KeyId,
          KeyPairSpec: 'ECC_NIST_P256',
        }),
      ),
      'InvalidKeyUsageException',
      'You cannot generate a data key with an asymmetric CMK',
    )
    const hmac = await kms.send(
      new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }),
    )
    await expectKmsError(
      kms.send(
        new GenerateDataKeyPairWithoutPlaintextCommand({
          KeyId: hmac.KeyMetadata!.KeyId,
          KeyPairSpec: 'ECC_NIST_P256',
        }),
      ),
      'InvalidKeyUsageException',
      `${hmac.KeyMetadata!.Arn} key usage is GENERATE_VERIFY_MAC which is not valid for GenerateDataKeyPairWithoutPlaintext.`,
    )
  })

  it('refuses Recipient and a disabled key, and stops a DryRun', async () => {
    const input = { KeyId: kek.keyId, KeyPairSpec: 'ECC_NIST_P256' } as const
    await expectKmsError(
      kms.send(new GenerateDataKeyPairCommand({ ...input, DryRun: true })),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    )
    await expectKmsError(
      kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ ...input, DryRun: true })),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    )
    await expectKmsError(
      kms.send(
        new GenerateDataKeyPairCommand({
          ...input,
          Recipient: {
            AttestationDocument: Buffer.from('doc'),
            KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          },
        }),
      ),
      'UnsupportedOperationException',
      'Recipient (AWS Nitro Enclaves attestation) is not supported by Keyward.',
    )
    const other = await createSymmetricKey(kms)
    await kms.send(new DisableKeyCommand({ KeyId: other.keyId }))
    await expectKmsError(
      kms.send(new GenerateDataKeyPairCommand({ ...input, KeyId: other.keyId })),
      'DisabledException',
      `${other.arn} is disabled.`,
    )
  })
})
