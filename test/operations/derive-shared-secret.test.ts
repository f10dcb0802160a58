import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DeriveSharedSecretCommand,
  DisableKeyCommand,
  GetPublicKeyCommand,
  type KeySpec as SdkKeySpec,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { KEY_SPECS, type KeySpec } from '../../src/domain/key-specs.js'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { OpenSslWorkspace } from '../support/openssl.js'
import { SM2_N, sm2Ecdh, sm2PublicPoint, sm2Spki } from '../support/sm2-reference.js'
import { b64, NO_MESSAGE, sendRaw } from './crypto-fixtures.js'
import { expectWireError } from '../support/wire-assertions.js'

/**
 * DeriveSharedSecret for every KEY_AGREEMENT key spec of the table: the raw ECDH secret equals
 * `openssl pkeyutl -derive` run with a peer key OpenSSL made and only GetPublicKey's DER. For
 * SM2, which OpenSSL 3.0 cannot derive with, the peer key and the expected secret come from
 * the tests' own SM2 arithmetic (test/support/sm2-reference.ts).
 */
const AGREEMENT_SPECS = (Object.keys(KEY_SPECS) as KeySpec[]).filter((s) =>
  KEY_SPECS[s].keyUsages.includes('KEY_AGREEMENT'),
)
const SECRET_BYTES: Partial<Record<KeySpec, number>> = {
  ECC_NIST_P256: 32,
  ECC_NIST_P384: 48,
  ECC_NIST_P521: 66,
  SM2: 32,
}

describe('DeriveSharedSecret', () => {
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

  const agreementKey = async (spec: KeySpec) => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: spec as SdkKeySpec, KeyUsage: 'KEY_AGREEMENT' }),
    )
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: KeyMetadata!.KeyId }))
    return { ...KeyMetadata!, publicKey: Buffer.from(PublicKey!) }
  }

  /** A peer key pair made by OpenSSL on the curve of `spec`: its PEM and its DER SPKI. */
  function opensslPeer(spec: KeySpec): { pem: string; spki: Buffer } {
    const material = KEY_SPECS[spec].material
    const curve = material.kind === 'ec' ? material.curve : ''
    const pem = ws.output()
    ws.run(['ecparam', '-name', curve, '-genkey', '-noout', '-out', pem])
    const spki = ws.produce(['pkey', '-in', pem, '-pubout', '-outform', 'DER'])
    return { pem, spki }
  }

  it('lists ECDH for exactly the NIST curves and SM2', () => {
    assert.deepEqual(AGREEMENT_SPECS, ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'SM2'])
  })

  for (const spec of AGREEMENT_SPECS) {
    it(`${spec}: the raw ECDH secret, the same as the peer computes`, async () => {
      const key = await agreementKey(spec)
      let peerSpki: Buffer
      let expected: Buffer
      if (KEY_SPECS[spec].material.kind === 'sm2') {
        const d = (BigInt('0x' + randomBytes(32).toString('hex')) % (SM2_N - 1n)) + 1n
        peerSpki = sm2Spki(sm2PublicPoint(d))
        expected = sm2Ecdh(d, key.publicKey.subarray(key.publicKey.length - 65))
      } else {
        const peer = opensslPeer(spec)
        peerSpki = peer.spki
        expected = ws.produce([
          'pkeyutl',
          '-derive',
          '-inkey',
          peer.pem,
          '-peerkey',
          ws.file(key.publicKey),
          '-peerform',
          'DER',
        ])
      }
      const out = await kms.send(
        new DeriveSharedSecretCommand({
          KeyId: key.KeyId,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: peerSpki,
        }),
      )
      assert.equal(out.KeyId, key.Arn)
      assert.equal(out.KeyAgreementAlgorithm, 'ECDH')
      assert.equal(out.KeyOrigin, 'AWS_KMS')
      assert.equal(out.SharedSecret!.length, SECRET_BYTES[spec])
      assert.deepEqual(Buffer.from(out.SharedSecret!), expected)
    })
  }

  it('two KMS keys agree with each other through their public keys', async () => {
    const a = await agreementKey('ECC_NIST_P384')
    const b = await agreementKey('ECC_NIST_P384')
    const derive = (keyId: string, peer: Buffer) =>
      kms.send(
        new DeriveSharedSecretCommand({
          KeyId: keyId,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: peer,
        }),
      )
    const ab = await derive(a.KeyId!, b.publicKey)
    const ba = await derive(b.KeyId!, a.publicKey)
    assert.deepEqual(ab.SharedSecret, ba.SharedSecret)
  })

  describe('refuses a public key that is not a point of the curve with a bare ValidationException', () => {
    const cases: Array<{ name: string; spki: () => Buffer }> = [
      { name: 'bytes that are not DER', spki: () => Buffer.from('not a key') },
      { name: 'a key of another curve', spki: () => opensslPeer('ECC_NIST_P384').spki },
      {
        name: 'an RSA key',
        spki: () => {
          const pem = ws.output()
          ws.run(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', pem])
          return ws.produce(['pkey', '-in', pem, '-pubout', '-outform', 'DER'])
        },
      },
      {
        name: 'a point off the curve',
        spki: () => {
          const good = opensslPeer('ECC_NIST_P256').spki
          const bad = Buffer.from(good)
          bad[bad.length - 1]! ^= 0x01
          return bad
        },
      },
    ]
    for (const c of cases) {
      it(c.name, async () => {
        const key = await agreementKey('ECC_NIST_P256')
        const spki = c.spki()
        await expectKmsError(
          kms.send(
            new DeriveSharedSecretCommand({
              KeyId: key.KeyId,
              KeyAgreementAlgorithm: 'ECDH',
              PublicKey: spki,
            }),
          ),
          'ValidationException',
          NO_MESSAGE,
        )
        const r = await sendRaw(kw, 'DeriveSharedSecret', {
          KeyId: key.KeyId,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: b64(spki),
        })
        assert.equal(r.text, JSON.stringify({ __type: 'ValidationException' }))
      })
    }

    it('an SM2 point off the curve, for an SM2 key', async () => {
      const key = await agreementKey('SM2')
      const point = sm2PublicPoint(7n)
      point[64]! ^= 0x01
      await expectKmsError(
        kms.send(
          new DeriveSharedSecretCommand({
            KeyId: key.KeyId,
            KeyAgreementAlgorithm: 'ECDH',
            PublicKey: sm2Spki(point),
          }),
        ),
        'ValidationException',
        NO_MESSAGE,
      )
    })
  })

  it('refuses keys of another usage with the messages AWS recorded', async () => {
    for (const input of [{}, { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }] as const) {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand(input))
      await expectKmsError(
        kms.send(
          new DeriveSharedSecretCommand({
            KeyId: KeyMetadata!.KeyId,
            KeyAgreementAlgorithm: 'ECDH',
            PublicKey: opensslPeer('ECC_NIST_P256').spki,
          }),
        ),
        'InvalidKeyUsageException',
        `${KeyMetadata!.Arn} key usage is ${KeyMetadata!.KeyUsage} which is not valid for DeriveSharedSecret.`,
      )
    }
  })

  it('refuses an unknown algorithm and a key spec without key agreement, as AWS', async () => {
    const key = await agreementKey('ECC_NIST_P256')
    const r = await sendRaw(kw, 'DeriveSharedSecret', {
      KeyId: key.KeyId,
      KeyAgreementAlgorithm: 'INVALID',
      PublicKey: b64(key.publicKey),
    })
    expectWireError(
      r,
      'ValidationException',
      "1 validation error detected: Value 'INVALID' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]",
    )
    await expectKmsError(
      kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'KEY_AGREEMENT' })),
      'ValidationException',
      'KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048',
    )
    await expectKmsError(
      kms.send(new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'KEY_AGREEMENT' })),
      'ValidationException',
      'KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1',
    )
  })

  it('refuses Recipient, a disabled key, and stops a valid DryRun', async () => {
    const key = await agreementKey('ECC_NIST_P256')
    const peer = opensslPeer('ECC_NIST_P256').spki
    const input = { KeyId: key.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer } as const
    await expectKmsError(
      kms.send(new DeriveSharedSecretCommand({ ...input, DryRun: true })),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    )
    await expectKmsError(
      kms.send(
        new DeriveSharedSecretCommand({
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
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }))
    await expectKmsError(
      kms.send(new DeriveSharedSecretCommand(input)),
      'DisabledException',
      `${key.Arn} is disabled.`,
    )
  })
})
