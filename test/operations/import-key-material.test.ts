import assert from 'node:assert/strict'
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type CreateKeyCommandInput,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { ImportWorkspace, importMaterial, type WrappingAlgorithm } from '../support/key-import.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { rawRequest } from '../support/raw-request.js'
import { expectWireError } from '../support/wire-assertions.js'
import { NO_MESSAGE } from './crypto-fixtures.js'

/**
 * ImportKeyMaterial, driven as a user follows AWS's documented steps with the openssl command
 * line (test/support/key-import.ts), and checked with independent implementations: a Keyward
 * ciphertext opened (and one made) in this file with the imported AES key, an HMAC compared
 * with `openssl dgst -mac HMAC`, signatures verified by `openssl dgst -verify`.
 */

const DAY_MS = 86_400_000
const INCORRECT =
  'The key material in the request is not the key material that was previously imported into this KMS key.'

type Key = KeyMetadata & { KeyId: string; Arn: string }

/**
 * A Keyward ciphertext (src/domain/ciphertext.ts, format 1), independently: version, key ID,
 * KeyMaterialId, salt, IV, AES-256-GCM under HKDF-SHA256(material, salt) with the whole header
 * and the encoded (here: empty) encryption context as AAD.
 */
const HKDF_INFO = Buffer.from('keyward ciphertext v1')
const EMPTY_CONTEXT = Buffer.alloc(4)
function openBlob(blob: Buffer, material: Buffer): Buffer {
  const bodyAt = 2 + blob[1]! + 32 + 16 + 12
  const salt = blob.subarray(bodyAt - 28, bodyAt - 12)
  const key = Buffer.from(hkdfSync('sha256', material, salt, HKDF_INFO, 32))
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(bodyAt - 12, bodyAt))
  decipher.setAAD(Buffer.concat([blob.subarray(0, bodyAt), EMPTY_CONTEXT]))
  decipher.setAuthTag(blob.subarray(blob.length - 16))
  return Buffer.concat([decipher.update(blob.subarray(bodyAt, blob.length - 16)), decipher.final()])
}
function sealBlob(req: {
  keyId: string
  keyMaterialId: string
  material: Buffer
  plaintext: Buffer
}) {
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const header = Buffer.concat([
    Buffer.from([1, req.keyId.length]),
    Buffer.from(req.keyId, 'ascii'),
    Buffer.from(req.keyMaterialId, 'hex'),
    salt,
    iv,
  ])
  const key = Buffer.from(hkdfSync('sha256', req.material, salt, HKDF_INFO, 32))
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.concat([header, EMPTY_CONTEXT]))
  return Buffer.concat([header, cipher.update(req.plaintext), cipher.final(), cipher.getAuthTag()])
}

describe('ImportKeyMaterial', () => {
  const clock = new ManualClock(Date.parse('2026-08-01T12:00:00Z'))
  const clients = new ClockedClients(clock)
  const ws = new ImportWorkspace()
  let kw: TestServer
  const kms = () => clients.kms(kw.endpoint)
  const newKey = async (input: CreateKeyCommandInput = {}) =>
    (await kms().send(new CreateKeyCommand({ Origin: 'EXTERNAL', ...input }))).KeyMetadata! as Key
  const describeKey = async (KeyId: string) =>
    (await kms().send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!
  const importInto = (
    keyId: string,
    material: Buffer,
    options: {
      algorithm?: WrappingAlgorithm
      input?: Parameters<typeof importMaterial>[2]['input']
    } = {},
  ) => importMaterial(kms, ws, { keyId, material, ...options })
  /** Parameters, then an ImportKeyMaterial with `input` over the defaults. */
  const importWith = async (
    key: Key,
    material: Buffer,
    input: Partial<ConstructorParameters<typeof ImportKeyMaterialCommand>[0]>,
  ) => {
    const params = await kms().send(
      new GetParametersForImportCommand({
        KeyId: key.KeyId,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
      }),
    )
    return kms().send(
      new ImportKeyMaterialCommand({
        KeyId: key.KeyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: ws.wrap('RSAES_OAEP_SHA_256', params.PublicKey!, material),
        ...input,
      }),
    )
  }

  before(async () => {
    kw = await startKeyward({ clock })
  })
  after(async () => {
    clients.destroy()
    ws.remove()
    await kw.close()
  })

  describe('CreateKey with Origin EXTERNAL', () => {
    it('makes a key without material, PendingImport and not enabled (as recorded by AWS)', async () => {
      const key = await newKey({ Description: 'byok' })
      assert.equal(key.KeyState, 'PendingImport')
      assert.equal(key.Enabled, false)
      assert.equal(key.Origin, 'EXTERNAL')
      assert.equal(key.CurrentKeyMaterialId, undefined)
      assert.equal(key.ExpirationModel, undefined)
      await expectKmsError(
        kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
        'KMSInvalidStateException',
        `${key.Arn} is pending import.`,
      )
    })

    it('makes HMAC and asymmetric keys pending import too; none has a public key yet', async () => {
      const hmac = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })
      const ecc = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })
      for (const key of [hmac, ecc]) assert.equal(key.KeyState, 'PendingImport')
      await expectKmsError(
        kms().send(new GetPublicKeyCommand({ KeyId: ecc.KeyId })),
        'KMSInvalidStateException',
        `${ecc.Arn} is pending import.`,
      )
    })

    it('refuses ML-DSA key specs, whose import AWS does not document', async () => {
      await expectKmsError(
        newKey({ KeySpec: 'ML_DSA_65', KeyUsage: 'SIGN_VERIFY' }),
        'UnsupportedOperationException',
        'KeySpec ML_DSA_65 does not support imported key material in this Keyward version.',
      )
    })
  })

  describe('a symmetric key', () => {
    let key: Key
    let keyMaterialId: string

    before(async () => {
      key = await newKey()
    })

    it('takes 32 bytes from `openssl rand`, wrapped with RSAES_OAEP_SHA_256, and becomes Enabled', async () => {
      const aesKey = ws.rand(32)
      const out = await importInto(key.KeyId, aesKey)
      assert.equal(out.KeyId, key.Arn)
      assert.match(out.KeyMaterialId!, /^[0-9a-f]{64}$/)
      keyMaterialId = out.KeyMaterialId!
      const metadata = await describeKey(key.KeyId)
      assert.equal(metadata.KeyState, 'Enabled')
      assert.equal(metadata.Enabled, true)
      assert.equal(metadata.Origin, 'EXTERNAL')
      assert.equal(metadata.CurrentKeyMaterialId, keyMaterialId)
      assert.equal(metadata.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE')
      assert.equal(metadata.ValidTo, undefined)

      // Known answer both ways: Keyward's ciphertext opens with the imported bytes, and a
      // ciphertext made here with them opens in Keyward.
      const blob = (
        await kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('byok') }))
      ).CiphertextBlob!
      assert.equal(openBlob(Buffer.from(blob), aesKey).toString(), 'byok')
      const outside = sealBlob({
        keyId: key.KeyId,
        keyMaterialId,
        material: aesKey,
        plaintext: Buffer.from('sealed outside'),
      })
      const opened = await kms().send(new DecryptCommand({ CiphertextBlob: outside }))
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'sealed outside')
      assert.equal(opened.KeyMaterialId, keyMaterialId)

      // Importing the same bytes again (to change the expiration) keeps the same ID.
      const again = await importInto(key.KeyId, aesKey, {
        input: {
          ExpirationModel: 'KEY_MATERIAL_EXPIRES',
          ValidTo: new Date(clock.now() + 30 * DAY_MS),
        },
      })
      assert.equal(again.KeyMaterialId, keyMaterialId)
      const expiring = await describeKey(key.KeyId)
      assert.equal(expiring.ExpirationModel, 'KEY_MATERIAL_EXPIRES')
      assert.equal(expiring.ValidTo!.getTime(), clock.now() + 30 * DAY_MS)

      // Other bytes are not this key's material.
      await expectKmsError(
        importInto(key.KeyId, ws.rand(32)),
        'IncorrectKeyMaterialException',
        INCORRECT,
      )
    })

    it('derives a KeyMaterialId per key: the same bytes in another key get another ID', async () => {
      const aesKey = ws.rand(32)
      const a = await importInto((await newKey()).KeyId, aesKey)
      const b = await importInto((await newKey()).KeyId, aesKey)
      assert.notEqual(a.KeyMaterialId, b.KeyMaterialId)
    })

    for (const algorithm of [
      'RSAES_OAEP_SHA_1',
      'RSA_AES_KEY_WRAP_SHA_1',
      'RSA_AES_KEY_WRAP_SHA_256',
      'SM2PKE',
    ] as const) {
      it(`takes material wrapped with ${algorithm}`, async () => {
        const other = await newKey()
        const aesKey = ws.rand(32)
        await importInto(other.KeyId, aesKey, { algorithm })
        const blob = (
          await kms().send(
            new EncryptCommand({ KeyId: other.KeyId, Plaintext: Buffer.from(algorithm) }),
          )
        ).CiphertextBlob!
        assert.equal(openBlob(Buffer.from(blob), aesKey).toString(), algorithm)
      })
    }

    it('refuses material of any other length (IncorrectKeyMaterialException)', async () => {
      const other = await newKey()
      for (const length of [16, 31, 33, 64]) {
        await expectKmsError(
          importInto(other.KeyId, ws.rand(length)),
          'IncorrectKeyMaterialException',
          'Key material for a SYMMETRIC_DEFAULT key must be 32 bytes long.',
        )
      }
      assert.equal((await describeKey(other.KeyId)).KeyState, 'PendingImport')
    })

    it('needs a ValidTo for KEY_MATERIAL_EXPIRES (recorded), none otherwise, within 365 days', async () => {
      const other = await newKey()
      const aesKey = ws.rand(32)
      const cases: Array<
        [Partial<ConstructorParameters<typeof ImportKeyMaterialCommand>[0]>, string]
      > = [
        [{}, 'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES'],
        [
          { ExpirationModel: 'KEY_MATERIAL_EXPIRES' },
          'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES',
        ],
        [
          {
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
            ValidTo: new Date(clock.now() + DAY_MS),
          },
          'A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE',
        ],
        [{ ValidTo: new Date(clock.now()) }, 'The validTo date must be in the future.'],
        [
          { ValidTo: new Date(clock.now() + 365 * DAY_MS + 1000) },
          'The validTo date must be at most 365 days from now.',
        ],
      ]
      for (const [input, message] of cases) {
        await expectKmsError(importWith(other, aesKey, input), 'ValidationException', message)
      }
      assert.equal((await describeKey(other.KeyId)).KeyState, 'PendingImport')
      await importWith(other, aesKey, { ValidTo: new Date(clock.now() + 365 * DAY_MS) })
      assert.equal((await describeKey(other.KeyId)).ExpirationModel, 'KEY_MATERIAL_EXPIRES')
    })

    it('refuses an import token of another key, or altered (InvalidImportTokenException)', async () => {
      const target = await newKey()
      const otherKey = await newKey()
      const params = await kms().send(
        new GetParametersForImportCommand({
          KeyId: otherKey.KeyId,
          WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
          WrappingKeySpec: 'RSA_2048',
        }),
      )
      const encrypted = ws.wrap('RSAES_OAEP_SHA_256', params.PublicKey!, ws.rand(32))
      const send = (token: Uint8Array) =>
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId: target.KeyId,
            ImportToken: token,
            EncryptedKeyMaterial: encrypted,
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        )
      const message = 'The import token is not valid for this KMS key.'
      await expectKmsError(send(params.ImportToken!), 'InvalidImportTokenException', message)
      const altered = Buffer.from(params.ImportToken!)
      altered[altered.length - 20]! ^= 0x01
      await expectKmsError(
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId: otherKey.KeyId,
            ImportToken: altered,
            EncryptedKeyMaterial: encrypted,
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        ),
        'InvalidImportTokenException',
        message,
      )
      await expectKmsError(send(Buffer.from('not a token')), 'InvalidImportTokenException', message)
    })

    it('refuses a token older than 24 hours (ExpiredImportTokenException)', async () => {
      const target = await newKey()
      const params = await kms().send(
        new GetParametersForImportCommand({
          KeyId: target.KeyId,
          WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
          WrappingKeySpec: 'RSA_2048',
        }),
      )
      const encrypted = ws.wrap('RSAES_OAEP_SHA_256', params.PublicKey!, ws.rand(32))
      clock.advance(24 * 3_600_000)
      await expectKmsError(
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId: target.KeyId,
            ImportToken: params.ImportToken,
            EncryptedKeyMaterial: encrypted,
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        ),
        'ExpiredImportTokenException',
        'The import token has expired. Use GetParametersForImport to get a new wrapping key and import token.',
      )
    })

    it('refuses material that does not unwrap with InvalidCiphertextException and no message', async () => {
      const target = await newKey()
      const params = await kms().send(
        new GetParametersForImportCommand({
          KeyId: target.KeyId,
          WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256',
          WrappingKeySpec: 'RSA_2048',
        }),
      )
      const good = ws.wrap('RSA_AES_KEY_WRAP_SHA_256', params.PublicKey!, ws.rand(32))
      const tampered = Buffer.from(good)
      tampered[tampered.length - 1]! ^= 0x80
      for (const encrypted of [tampered, good.subarray(0, 256), randomBytes(300)]) {
        const r = await rawRequest(kw.endpoint, {
          target: 'TrentService.ImportKeyMaterial',
          body: JSON.stringify({
            KeyId: target.KeyId,
            ImportToken: Buffer.from(params.ImportToken!).toString('base64'),
            EncryptedKeyMaterial: encrypted.toString('base64'),
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
          sign: true,
          signingDate: new Date(clock.now()),
        })
        expectWireError(r, 'InvalidCiphertextException', undefined)
      }
      await expectKmsError(
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId: target.KeyId,
            ImportToken: params.ImportToken,
            EncryptedKeyMaterial: tampered,
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        ),
        'InvalidCiphertextException',
        NO_MESSAGE,
      )
    })

    it('follows ImportType and KeyMaterialId', async () => {
      const target = await newKey()
      const aesKey = ws.rand(32)
      await expectKmsError(
        importInto(target.KeyId, aesKey, { input: { ImportType: 'EXISTING_KEY_MATERIAL' } }),
        'IncorrectKeyMaterialException',
        INCORRECT,
      )
      await expectKmsError(
        importInto(target.KeyId, aesKey, {
          input: { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialId: 'a'.repeat(64) },
        }),
        'ValidationException',
        'You cannot specify a KeyMaterialId when the ImportType is NEW_KEY_MATERIAL.',
      )
      const { KeyMaterialId } = await importInto(target.KeyId, aesKey, {
        input: { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'first material' },
      })
      await importInto(target.KeyId, aesKey, {
        input: { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId },
      })
      await expectKmsError(
        importInto(target.KeyId, aesKey, {
          input: { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: 'b'.repeat(64) },
        }),
        'IncorrectKeyMaterialException',
        INCORRECT,
      )
      await expectKmsError(
        importInto(target.KeyId, aesKey, { input: { ImportType: 'NEW_KEY_MATERIAL' } }),
        'IncorrectKeyMaterialException',
        `This key material (id: ${KeyMaterialId}) is already associated with the KMS key. Import it with ImportType EXISTING_KEY_MATERIAL.`,
      )
    })

    it('refuses a key with AWS_KMS origin (recorded message) and one pending deletion', async () => {
      const native = (await kms().send(new CreateKeyCommand({}))).KeyMetadata! as Key
      const external = await newKey()
      const params = await kms().send(
        new GetParametersForImportCommand({
          KeyId: external.KeyId,
          WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
          WrappingKeySpec: 'RSA_2048',
        }),
      )
      await expectKmsError(
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId: native.KeyId,
            ImportToken: params.ImportToken,
            EncryptedKeyMaterial: ws.wrap('RSAES_OAEP_SHA_256', params.PublicKey!, ws.rand(32)),
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        ),
        'UnsupportedOperationException',
        `${native.Arn} origin is AWS_KMS which is not valid for this operation.`,
      )
      await kms().send(new ScheduleKeyDeletionCommand({ KeyId: external.KeyId }))
      await expectKmsError(
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId: external.KeyId,
            ImportToken: params.ImportToken,
            EncryptedKeyMaterial: ws.wrap('RSAES_OAEP_SHA_256', params.PublicKey!, ws.rand(32)),
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        ),
        'KMSInvalidStateException',
        `${external.Arn} is pending deletion.`,
      )
    })
  })

  describe('an HMAC key', () => {
    it('computes MACs with exactly the imported bytes (known answer from `openssl dgst -mac HMAC`)', async () => {
      const key = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })
      const hmacKey = ws.rand(40)
      const out = await importInto(key.KeyId, hmacKey)
      assert.equal(out.KeyId, key.Arn)
      assert.equal(out.KeyMaterialId, undefined, 'reported for symmetric encryption keys only')
      const metadata = await describeKey(key.KeyId)
      assert.equal(metadata.KeyState, 'Enabled')
      assert.equal(metadata.CurrentKeyMaterialId, undefined)
      assert.equal(metadata.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE')

      const message = Buffer.from('the imported HMAC key, and no other')
      const { Mac } = await kms().send(
        new GenerateMacCommand({
          KeyId: key.KeyId,
          Message: message,
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      )
      const expected = ws.run([
        'dgst',
        '-sha256',
        '-mac',
        'HMAC',
        '-macopt',
        `hexkey:${hmacKey.toString('hex')}`,
        '-binary',
        ws.file(message),
      ])
      assert.ok(expected.ok)
      assert.deepEqual(Buffer.from(Mac!), expected.stdout)
      const verified = await kms().send(
        new VerifyMacCommand({
          KeyId: key.KeyId,
          Message: message,
          Mac,
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      )
      assert.equal(verified.MacValid, true)
      await expectKmsError(
        importInto(key.KeyId, ws.rand(40)),
        'IncorrectKeyMaterialException',
        INCORRECT,
      )
    })

    it('takes the length range of its spec (HMAC_224: 28–64 bytes)', async () => {
      const key = await newKey({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' })
      for (const length of [27, 65]) {
        await expectKmsError(
          importInto(key.KeyId, ws.rand(length)),
          'IncorrectKeyMaterialException',
          'Key material for a HMAC_224 key must be between 28 and 64 bytes long.',
        )
      }
      await importInto(key.KeyId, ws.rand(28))
      const longest = await newKey({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' })
      await importInto(longest.KeyId, ws.rand(64))
    })

    it('refuses ImportType, KeyMaterialId and KeyMaterialDescription, which are for symmetric encryption keys', async () => {
      const key = await newKey({ KeySpec: 'HMAC_512', KeyUsage: 'GENERATE_VERIFY_MAC' })
      await expectKmsError(
        importInto(key.KeyId, ws.rand(64), { input: { ImportType: 'NEW_KEY_MATERIAL' } }),
        'ValidationException',
        'ImportType can be specified only for symmetric encryption KMS keys.',
      )
      await expectKmsError(
        importInto(key.KeyId, ws.rand(64), { input: { KeyMaterialDescription: 'mine' } }),
        'ValidationException',
        'KeyMaterialDescription can be specified only for symmetric encryption KMS keys.',
      )
    })
  })

  describe('a key pair', () => {
    it('imports an ECC_NIST_P256 key from `openssl genpkey` with RSA_AES_KEY_WRAP_SHA_256; openssl verifies its signatures', async () => {
      const key = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })
      const pair = ws.privateKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
      await importInto(key.KeyId, pair.pkcs8, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' })
      assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled')
      const { PublicKey } = await kms().send(new GetPublicKeyCommand({ KeyId: key.KeyId }))
      assert.deepEqual(Buffer.from(PublicKey!), pair.spki)
      const message = Buffer.from('signed by an imported key')
      const { Signature } = await kms().send(
        new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }),
      )
      const verified = ws.run([
        'dgst',
        '-sha256',
        '-verify',
        ws.file(pair.spki),
        '-keyform',
        'DER',
        '-signature',
        ws.file(Signature!),
        ws.file(message),
      ])
      assert.ok(verified.ok, 'openssl verifies the signature with its own public key')
      assert.match(verified.stdout.toString(), /Verified OK/)

      // The same key pair may be imported again; another one may not.
      await importInto(key.KeyId, pair.pkcs8, { algorithm: 'RSA_AES_KEY_WRAP_SHA_1' })
      const other = ws.privateKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
      await expectKmsError(
        importInto(key.KeyId, other.pkcs8, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }),
        'IncorrectKeyMaterialException',
        INCORRECT,
      )
    })

    it('imports an RSA_2048 key with RSA_AES_KEY_WRAP_SHA_1; openssl verifies RSASSA-PSS', async () => {
      const key = await newKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })
      const pair = ws.privateKey(['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'])
      await importInto(key.KeyId, pair.pkcs8, { algorithm: 'RSA_AES_KEY_WRAP_SHA_1' })
      const message = Buffer.from('RSA key from outside')
      const { Signature } = await kms().send(
        new SignCommand({
          KeyId: key.KeyId,
          Message: message,
          SigningAlgorithm: 'RSASSA_PSS_SHA_256',
        }),
      )
      const verified = ws.run([
        'dgst',
        '-sha256',
        '-sigopt',
        'rsa_padding_mode:pss',
        '-sigopt',
        'rsa_pss_saltlen:32',
        '-verify',
        ws.file(pair.spki),
        '-keyform',
        'DER',
        '-signature',
        ws.file(Signature!),
        ws.file(message),
      ])
      assert.ok(verified.ok)
    })

    for (const [spec, genpkey, algorithm] of [
      [
        'ECC_NIST_P521',
        ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
        'ECDSA_SHA_512',
      ],
      [
        'ECC_SECG_P256K1',
        ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'],
        'ECDSA_SHA_256',
      ],
      ['ECC_NIST_EDWARDS25519', ['-algorithm', 'ED25519'], 'ED25519_SHA_512'],
      ['SM2', ['-algorithm', 'SM2'], 'SM2DSA'],
    ] as const) {
      it(`imports a ${spec} key from openssl: its public key, and signatures that verify`, async () => {
        const key = await newKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })
        const pair = ws.privateKey([...genpkey])
        await importInto(key.KeyId, pair.pkcs8, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' })
        const { PublicKey } = await kms().send(new GetPublicKeyCommand({ KeyId: key.KeyId }))
        assert.deepEqual(Buffer.from(PublicKey!), pair.spki)
        const message = Buffer.from(`signed with imported ${spec}`)
        const { Signature } = await kms().send(
          new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: algorithm }),
        )
        const { SignatureValid } = await kms().send(
          new VerifyCommand({
            KeyId: key.KeyId,
            Message: message,
            Signature,
            SigningAlgorithm: algorithm,
          }),
        )
        assert.equal(SignatureValid, true)
      })
    }

    it('takes an EC key directly with RSAES_OAEP_SHA_256 when it fits the wrapping key', async () => {
      const key = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' })
      const pair = ws.privateKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
      await importInto(key.KeyId, pair.pkcs8)
      const { PublicKey } = await kms().send(new GetPublicKeyCommand({ KeyId: key.KeyId }))
      assert.deepEqual(Buffer.from(PublicKey!), pair.spki)
    })

    it('refuses a private key of another curve or type, raw bytes, and a PKCS #8 whose public key is not its own', async () => {
      const key = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })
      const message =
        'Key material for a ECC_NIST_P256 key must be a DER-encoded PKCS #8 private key of that key spec.'
      const p384 = ws.privateKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'])
      const ed = ws.privateKey(['-algorithm', 'ED25519'])
      for (const material of [p384.pkcs8, ed.pkcs8, ws.rand(32)]) {
        await expectKmsError(
          importInto(key.KeyId, material, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }),
          'IncorrectKeyMaterialException',
          message,
        )
      }
      // A P-256 PKCS #8 carrying another key's public point: OpenSSL would take the point as is.
      const a = ws.privateKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
      const b = ws.privateKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
      const pointA = a.spki.subarray(a.spki.length - 65)
      const pointB = b.spki.subarray(b.spki.length - 65)
      const at = a.pkcs8.indexOf(pointA)
      assert.ok(at > 0, 'openssl writes the public key into the PKCS #8')
      const mixed = Buffer.concat([a.pkcs8.subarray(0, at), pointB, a.pkcs8.subarray(at + 65)])
      await expectKmsError(
        importInto(key.KeyId, mixed, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }),
        'IncorrectKeyMaterialException',
        message,
      )
      assert.equal((await describeKey(key.KeyId)).KeyState, 'PendingImport')
    })
  })
})
