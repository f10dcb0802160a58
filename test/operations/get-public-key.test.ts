import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  GetPublicKeyCommand,
  type KeySpec as SdkKeySpec,
  type KeyUsageType,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { KEY_SPECS, isKeyPair, type KeySpec, type KeyUsage } from '../../src/domain/key-specs.js'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { OpenSslWorkspace } from '../support/openssl.js'

/**
 * GetPublicKey for every key pair spec × usage of the table (RSA_4096 once: its key generation
 * is slow), DescribeKey's algorithm lists for the same keys, and the refusals.
 */

/** The algorithm OpenSSL names in `openssl pkey -pubin -text` for each kind of material. */
const OPENSSL_TEXT: Record<string, RegExp> = {
  rsa: /Public-Key: \((\d+) bit\)/,
  ec: /ASN1 OID: (\S+)/,
  sm2: /ASN1 OID: SM2/,
  ed25519: /ED25519 Public-Key/,
}

/** Known SPKI sizes: AWS's (kms-api.md §3.1) for Ed25519 and ML-DSA-44, FIPS 204 for the rest. */
const SPKI_BYTES: Partial<Record<KeySpec, number>> = {
  ECC_NIST_EDWARDS25519: 44,
  ML_DSA_44: 1334,
  ML_DSA_65: 1974,
  ML_DSA_87: 2614,
}

const CASES = (Object.keys(KEY_SPECS) as KeySpec[])
  .filter(isKeyPair)
  .flatMap((spec) => KEY_SPECS[spec].keyUsages.map((usage) => ({ spec, usage })))
  .filter((c) => c.spec !== 'RSA_4096' || c.usage === 'ENCRYPT_DECRYPT')

describe('GetPublicKey', () => {
  let kw: TestServer
  let kms: KMSClient
  const ws = new OpenSslWorkspace()
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(async () => {
    ws.remove()
    await kw.close()
  })

  const create = async (spec: KeySpec, usage: KeyUsage) =>
    (
      await kms.send(
        new CreateKeyCommand({ KeySpec: spec as SdkKeySpec, KeyUsage: usage as KeyUsageType }),
      )
    ).KeyMetadata!

  for (const { spec, usage } of CASES) {
    it(`${spec} for ${usage}: a DER SPKI OpenSSL reads, and the table's algorithms`, async () => {
      const metadata = await create(spec, usage)
      const out = await kms.send(new GetPublicKeyCommand({ KeyId: metadata.KeyId }))
      const caps = KEY_SPECS[spec]
      assert.equal(out.KeyId, metadata.Arn)
      assert.equal(out.KeySpec, spec)
      assert.equal(out.KeyUsage, usage)
      assert.equal(out.CustomerMasterKeySpec, caps.customerMasterKeySpec)
      const lists = {
        EncryptionAlgorithms: usage === 'ENCRYPT_DECRYPT' ? caps.encryptionAlgorithms : undefined,
        SigningAlgorithms: usage === 'SIGN_VERIFY' ? caps.signingAlgorithms : undefined,
        KeyAgreementAlgorithms: usage === 'KEY_AGREEMENT' ? caps.keyAgreementAlgorithms : undefined,
      }
      assert.deepEqual(out.EncryptionAlgorithms, lists.EncryptionAlgorithms)
      assert.deepEqual(out.SigningAlgorithms, lists.SigningAlgorithms)
      assert.deepEqual(out.KeyAgreementAlgorithms, lists.KeyAgreementAlgorithms)
      // DescribeKey reports the same lists from the same table.
      assert.deepEqual(metadata.EncryptionAlgorithms, lists.EncryptionAlgorithms)
      assert.deepEqual(metadata.SigningAlgorithms, lists.SigningAlgorithms)
      assert.deepEqual(metadata.KeyAgreementAlgorithms, lists.KeyAgreementAlgorithms)
      assert.equal(metadata.MacAlgorithms, undefined)

      const der = Buffer.from(out.PublicKey!)
      const expected = SPKI_BYTES[spec]
      if (expected) assert.equal(der.length, expected)
      const text = OPENSSL_TEXT[caps.material.kind]
      if (!text) return // ML-DSA: OpenSSL 3.0 does not know it; its size and the sign tests do.
      const parsed = ws.run([
        'pkey',
        '-pubin',
        '-inform',
        'DER',
        '-in',
        ws.file(der),
        '-noout',
        '-text',
      ])
      assert.ok(parsed.ok, 'openssl reads the SPKI')
      const match = text.exec(parsed.stdout.toString())
      assert.ok(match, parsed.stdout.toString())
      const material = caps.material
      if (material.kind === 'rsa') assert.equal(Number(match[1]), material.modulusBits)
      if (material.kind === 'ec') assert.equal(match[1], material.curve)
      // Re-encoded by OpenSSL, it is the same bytes: a canonical DER SPKI.
      const again = ws.produce([
        'pkey',
        '-pubin',
        '-inform',
        'DER',
        '-in',
        ws.file(der),
        '-outform',
        'DER',
      ])
      assert.deepEqual(again, der)
    })
  }

  it('refuses symmetric and HMAC keys with UnsupportedOperationException', async () => {
    for (const [spec, usage] of [
      ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
      ['HMAC_384', 'GENERATE_VERIFY_MAC'],
    ] as const) {
      const metadata = await create(spec, usage)
      await expectKmsError(
        kms.send(new GetPublicKeyCommand({ KeyId: metadata.KeyId })),
        'UnsupportedOperationException',
        `${metadata.Arn} key spec is ${spec} which is not valid for GetPublicKey.`,
      )
    }
  })

  it('follows the key state table: a disabled key gets DisabledException', async () => {
    const metadata = await create('ECC_NIST_P256', 'SIGN_VERIFY')
    await kms.send(new DisableKeyCommand({ KeyId: metadata.KeyId }))
    await expectKmsError(
      kms.send(new GetPublicKeyCommand({ KeyId: metadata.KeyId })),
      'DisabledException',
      `${metadata.Arn} is disabled.`,
    )
  })

  it('accepts an alias and answers with the key ARN; an unknown key is NotFound', async () => {
    const metadata = await create('ECC_NIST_P256', 'KEY_AGREEMENT')
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/pub', TargetKeyId: metadata.KeyId }))
    const out = await kms.send(new GetPublicKeyCommand({ KeyId: 'alias/pub' }))
    assert.equal(out.KeyId, metadata.Arn)
    const missing = '11111111-2222-3333-4444-555555555555'
    await expectKmsError(
      kms.send(new GetPublicKeyCommand({ KeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
  })

  it('DescribeKey reports MacAlgorithms for HMAC keys and nothing else', async () => {
    for (const spec of ['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'] as const) {
      const metadata = await create(spec, 'GENERATE_VERIFY_MAC')
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: metadata.KeyId }))
      assert.deepEqual(KeyMetadata!.MacAlgorithms, KEY_SPECS[spec].macAlgorithms)
      assert.equal(KeyMetadata!.SigningAlgorithms, undefined)
      assert.equal(KeyMetadata!.EncryptionAlgorithms, undefined)
      assert.equal(KeyMetadata!.CustomerMasterKeySpec, spec)
    }
  })
})
