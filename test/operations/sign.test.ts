import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DisableKeyCommand,
  GetPublicKeyCommand,
  SignCommand,
  VerifyCommand,
  type KMSClient,
  type MessageType,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms'
import { createMLDSA44, createMLDSA65, createMLDSA87 } from '@oqs/liboqs-js'
import { ed25519ph } from '@noble/curves/ed25519.js'
import {
  KEY_SPECS,
  SIGNING_ALGORITHMS,
  type KeySpec,
  type SigningAlgorithm,
} from '../../src/domain/key-specs.js'
import { spkiPublicKeyBits } from '../../src/crypto/der.js'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { OpenSslWorkspace } from '../support/openssl.js'
import { sm2Z } from '../support/sm2-reference.js'
import { b64, expectBareWireError, NO_MESSAGE, sendRaw } from './crypto-fixtures.js'

/**
 * Sign and Verify for every SIGN_VERIFY key spec × signing algorithm × message type the
 * capability table lists. Each signature is checked by an implementation other than Keyward's,
 * given only GetPublicKey's DER: `openssl pkeyutl` for RSA, ECDSA, SM2DSA (default
 * distinguishing ID) and Ed25519; liboqs for ML-DSA (OpenSSL 3.0 has none); for Ed25519ph,
 * which OpenSSL 3.0 lacks, @noble/curves (the library Keyward signs with; the RFC 8032 vectors
 * in test/crypto/ed25519.test.ts pin it). A DIGEST (or μ) given to Keyward is always computed
 * here from the RAW message, and OpenSSL/liboqs verify against the RAW message: so a DIGEST
 * signature is proved to be the signature of that message.
 */

const SIGNING_SPECS = (Object.keys(KEY_SPECS) as KeySpec[]).filter((s) =>
  KEY_SPECS[s].keyUsages.includes('SIGN_VERIFY'),
)

/** The message types a spec and algorithm both allow. */
const messageTypesOf = (spec: KeySpec, alg: SigningAlgorithm) =>
  KEY_SPECS[spec].messageTypes.filter(
    (t) => SIGNING_ALGORITHMS[alg].messageTypes?.includes(t) ?? true,
  )

const LIBOQS = { ML_DSA_44: createMLDSA44, ML_DSA_65: createMLDSA65, ML_DSA_87: createMLDSA87 }

/** FIPS 204 Algorithm 7 line 6: μ = H(H(pk, 64) ‖ 0 ‖ |ctx| ‖ ctx ‖ M, 64), ctx empty. */
function externalMu(publicKey: Uint8Array, message: Buffer): Buffer {
  const tr = createHash('shake256', { outputLength: 64 }).update(publicKey).digest()
  return createHash('shake256', { outputLength: 64 })
    .update(Buffer.concat([tr, Buffer.from([0, 0]), message]))
    .digest()
}

describe('Sign and Verify', () => {
  let kw: TestServer
  let kms: KMSClient
  const ws = new OpenSslWorkspace()
  const keys = new Map<KeySpec, { keyId: string; arn: string; spki: Buffer }>()

  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    await Promise.all(
      SIGNING_SPECS.map(async (spec) => {
        const { KeyMetadata } = await kms.send(
          new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' }),
        )
        const pub = await kms.send(new GetPublicKeyCommand({ KeyId: KeyMetadata!.KeyId }))
        keys.set(spec, {
          keyId: KeyMetadata!.KeyId!,
          arn: KeyMetadata!.Arn!,
          spki: Buffer.from(pub.PublicKey!),
        })
      }),
    )
  })
  after(async () => {
    ws.remove()
    await kw.close()
  })

  /** What Keyward is given for `messageType`, computed here from the RAW message. */
  function kmsMessage(spec: KeySpec, alg: SigningAlgorithm, type: string, raw: Buffer): Buffer {
    const { hash, scheme } = SIGNING_ALGORITHMS[alg]
    const point = () => spkiPublicKeyBits(keys.get(spec)!.spki)
    if (type === 'RAW') return raw
    if (type === 'EXTERNAL_MU') return externalMu(point(), raw)
    if (scheme === 'sm2dsa') return createHash('sm3').update(sm2Z(point())).update(raw).digest()
    return createHash(hash).update(raw).digest()
  }

  /** Whether an implementation other than Keyward's accepts `signature` of the RAW message. */
  async function independentlyValid(
    spec: KeySpec,
    alg: SigningAlgorithm,
    raw: Buffer,
    signature: Uint8Array,
  ): Promise<boolean> {
    const { scheme, hash } = SIGNING_ALGORITHMS[alg]
    const spki = keys.get(spec)!.spki
    if (scheme === 'ml-dsa') {
      const oqs = await LIBOQS[spec as keyof typeof LIBOQS]()
      try {
        return oqs.verify(
          new Uint8Array(raw),
          new Uint8Array(signature),
          new Uint8Array(spkiPublicKeyBits(spki)),
        )
      } finally {
        oqs.destroy()
      }
    }
    if (scheme === 'ed25519ph') {
      const digest = createHash('sha512').update(raw).digest()
      return ed25519ph.verify(signature, digest, spkiPublicKeyBits(spki), { zip215: false })
    }
    const args = ['pkeyutl', '-verify', '-pubin', '-inkey', ws.file(spki), '-keyform', 'DER']
    args.push('-rawin', '-in', ws.file(raw), '-sigfile', ws.file(signature))
    if (scheme !== 'ed25519') args.push('-digest', hash)
    if (scheme === 'rsa-pss') {
      args.push('-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest')
    }
    if (scheme === 'sm2dsa') args.push('-pkeyopt', 'distid:1234567812345678')
    return ws.run(args).ok
  }

  for (const spec of SIGNING_SPECS) {
    for (const alg of KEY_SPECS[spec].signingAlgorithms as SigningAlgorithm[]) {
      for (const type of messageTypesOf(spec, alg)) {
        it(`${spec} ${alg} ${type}: the signature checks out independently and through Verify`, async () => {
          const { keyId, arn } = keys.get(spec)!
          const raw = Buffer.from(`message for ${spec} ${alg} ${type}`)
          const message = kmsMessage(spec, alg, type, raw)
          const signed = await kms.send(
            new SignCommand({
              KeyId: keyId,
              Message: message,
              MessageType: type as MessageType,
              SigningAlgorithm: alg as SigningAlgorithmSpec,
            }),
          )
          assert.equal(signed.KeyId, arn)
          assert.equal(signed.SigningAlgorithm, alg)
          const signature = Buffer.from(signed.Signature!)
          assert.ok(await independentlyValid(spec, alg, raw, signature), 'independent check')

          // Verify takes any message type the algorithm allows, whichever one signed.
          for (const other of messageTypesOf(spec, alg)) {
            const verified = await kms.send(
              new VerifyCommand({
                KeyId: keyId,
                Message: kmsMessage(spec, alg, other, raw),
                MessageType: other as MessageType,
                Signature: signature,
                SigningAlgorithm: alg as SigningAlgorithmSpec,
              }),
            )
            assert.equal(verified.SignatureValid, true)
            assert.equal(verified.KeyId, arn)
          }
          const tampered = Buffer.from(signature)
          tampered[tampered.length >> 1]! ^= 0x01
          await expectKmsError(
            kms.send(
              new VerifyCommand({
                KeyId: keyId,
                Message: message,
                MessageType: type as MessageType,
                Signature: tampered,
                SigningAlgorithm: alg as SigningAlgorithmSpec,
              }),
            ),
            'KMSInvalidSignatureException',
            NO_MESSAGE,
          )
        })
      }
    }
  }

  it('sends KMSInvalidSignatureException with no message at all on the wire', async () => {
    const { keyId } = keys.get('ECC_NIST_P256')!
    const r = await sendRaw(kw, 'Verify', {
      KeyId: keyId,
      Message: b64(Buffer.from('m')),
      Signature: b64(Buffer.from('3006020101020101', 'hex')),
      SigningAlgorithm: 'ECDSA_SHA_256',
    })
    expectBareWireError(r, 'KMSInvalidSignatureException')
  })

  it('refuses a signature of another message', async () => {
    const { keyId } = keys.get('RSA_2048')!
    const { Signature } = await kms.send(
      new SignCommand({
        KeyId: keyId,
        Message: Buffer.from('a'),
        SigningAlgorithm: 'RSASSA_PSS_SHA_256',
      }),
    )
    await expectKmsError(
      kms.send(
        new VerifyCommand({
          KeyId: keyId,
          Message: Buffer.from('b'),
          Signature,
          SigningAlgorithm: 'RSASSA_PSS_SHA_256',
        }),
      ),
      'KMSInvalidSignatureException',
      NO_MESSAGE,
    )
  })

  describe('refuses what the table does not list, with AWS messages', () => {
    const sign = (spec: KeySpec, input: Partial<ConstructorParameters<typeof SignCommand>[0]>) =>
      kms.send(
        new SignCommand({
          KeyId: keys.get(spec)!.keyId,
          Message: Buffer.from('m'),
          SigningAlgorithm: 'ECDSA_SHA_256',
          ...input,
        }),
      )

    it('an algorithm of another key spec (InvalidKeyUsageException)', async () => {
      await expectKmsError(
        sign('ECC_NIST_P256', { SigningAlgorithm: 'ECDSA_SHA_384' }),
        'InvalidKeyUsageException',
        'Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.',
      )
      await expectKmsError(
        sign('RSA_2048', { SigningAlgorithm: 'ML_DSA_SHAKE_256' }),
        'InvalidKeyUsageException',
        'Algorithm ML_DSA_SHAKE_256 is incompatible with key spec RSA_2048.',
      )
    })

    it('a digest of the wrong length, in Sign and in Verify', async () => {
      await expectKmsError(
        sign('ECC_NIST_P256', { MessageType: 'DIGEST', Message: Buffer.alloc(31) }),
        'ValidationException',
        'Digest is invalid length for algorithm ECDSA_SHA_256.',
      )
      await expectKmsError(
        sign('RSA_2048', {
          MessageType: 'DIGEST',
          Message: Buffer.alloc(32),
          SigningAlgorithm: 'RSASSA_PSS_SHA_384',
        }),
        'ValidationException',
        'Digest is invalid length for algorithm RSASSA_PSS_SHA_384.',
      )
      await expectKmsError(
        kms.send(
          new VerifyCommand({
            KeyId: keys.get('SM2')!.keyId,
            Message: Buffer.alloc(33),
            MessageType: 'DIGEST',
            Signature: Buffer.alloc(70),
            SigningAlgorithm: 'SM2DSA',
          }),
        ),
        'ValidationException',
        'Digest is invalid length for algorithm SM2DSA.',
      )
    })

    it('DIGEST for ML-DSA and EXTERNAL_MU for other keys', async () => {
      await expectKmsError(
        sign('ML_DSA_44', {
          MessageType: 'DIGEST',
          Message: Buffer.alloc(64),
          SigningAlgorithm: 'ML_DSA_SHAKE_256',
        }),
        'ValidationException',
        'Message type DIGEST is incompatible with key spec ML_DSA_44.',
      )
      await expectKmsError(
        sign('RSA_2048', {
          MessageType: 'EXTERNAL_MU',
          Message: Buffer.alloc(64),
          SigningAlgorithm: 'RSASSA_PSS_SHA_512',
        }),
        'ValidationException',
        'Message type EXTERNAL_MU is incompatible with key spec RSA_2048.',
      )
    })

    it('a μ that is not 64 bytes', async () => {
      await expectKmsError(
        sign('ML_DSA_65', {
          MessageType: 'EXTERNAL_MU',
          Message: Buffer.alloc(63),
          SigningAlgorithm: 'ML_DSA_SHAKE_256',
        }),
        'ValidationException',
        'Digest is invalid length for algorithm ML_DSA_SHAKE_256.',
      )
    })

    it('Ed25519: RAW only for ED25519_SHA_512, DIGEST only for ED25519_PH_SHA_512', async () => {
      await expectKmsError(
        sign('ECC_NIST_EDWARDS25519', { SigningAlgorithm: 'ED25519_PH_SHA_512' }),
        'ValidationException',
        'Message type RAW is incompatible with algorithm ED25519_PH_SHA_512.',
      )
      await expectKmsError(
        sign('ECC_NIST_EDWARDS25519', {
          SigningAlgorithm: 'ED25519_SHA_512',
          MessageType: 'DIGEST',
          Message: Buffer.alloc(64),
        }),
        'ValidationException',
        'Message type DIGEST is incompatible with algorithm ED25519_SHA_512.',
      )
      await expectKmsError(
        sign('ECC_NIST_EDWARDS25519', {
          SigningAlgorithm: 'ED25519_PH_SHA_512',
          MessageType: 'DIGEST',
          Message: Buffer.alloc(32),
        }),
        'ValidationException',
        'Digest is invalid length for algorithm ED25519_PH_SHA_512.',
      )
    })

    it('keys of another usage (InvalidKeyUsageException naming the key)', async () => {
      const cases = [
        { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' },
        { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
        { KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' },
        { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' },
      ] as const
      for (const c of cases) {
        const { KeyMetadata } = await kms.send(new CreateKeyCommand(c))
        for (const [op, command] of [
          [
            'Sign',
            new SignCommand({
              KeyId: KeyMetadata!.KeyId,
              Message: Buffer.from('m'),
              SigningAlgorithm: 'ECDSA_SHA_256',
            }),
          ],
          [
            'Verify',
            new VerifyCommand({
              KeyId: KeyMetadata!.KeyId,
              Message: Buffer.from('m'),
              Signature: Buffer.from('s'),
              SigningAlgorithm: 'ECDSA_SHA_256',
            }),
          ],
        ] as const) {
          await expectKmsError(
            kms.send(command as SignCommand),
            'InvalidKeyUsageException',
            `${KeyMetadata!.Arn} key usage is ${c.KeyUsage} which is not valid for ${op}.`,
          )
        }
      }
    })
  })

  it('refuses a disabled key with DisabledException', async () => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' }),
    )
    await kms.send(new DisableKeyCommand({ KeyId: KeyMetadata!.KeyId }))
    await expectKmsError(
      kms.send(
        new SignCommand({
          KeyId: KeyMetadata!.KeyId,
          Message: Buffer.from('m'),
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
      'DisabledException',
      `${KeyMetadata!.Arn} is disabled.`,
    )
  })

  it('stops a DryRun that would succeed, and checks the request first', async () => {
    const { keyId } = keys.get('ECC_NIST_P384')!
    const input = { KeyId: keyId, Message: Buffer.from('m'), DryRun: true } as const
    await expectKmsError(
      kms.send(new SignCommand({ ...input, SigningAlgorithm: 'ECDSA_SHA_384' })),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    )
    await expectKmsError(
      kms.send(new SignCommand({ ...input, SigningAlgorithm: 'ECDSA_SHA_256' })),
      'InvalidKeyUsageException',
      'Algorithm ECDSA_SHA_256 is incompatible with key spec ECC_NIST_P384.',
    )
    await expectKmsError(
      kms.send(
        new VerifyCommand({
          ...input,
          Signature: Buffer.from('x'),
          SigningAlgorithm: 'ECDSA_SHA_384',
        }),
      ),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    )
  })

  it('keeps signing after a restart: the private key comes back from the store', async () => {
    const { keyId, spki } = keys.get('ECC_NIST_P256')!
    kw.keyward.keys.clearCache()
    const raw = Buffer.from('after a cache flush')
    const { Signature } = await kms.send(
      new SignCommand({ KeyId: keyId, Message: raw, SigningAlgorithm: 'ECDSA_SHA_256' }),
    )
    assert.ok(await independentlyValid('ECC_NIST_P256', 'ECDSA_SHA_256', raw, Signature!))
    const again = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }))
    assert.deepEqual(Buffer.from(again.PublicKey!), spki)
  })
})
