import assert from 'node:assert/strict'
import { createPublicKey } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  GetParametersForImportCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { ImportWorkspace } from '../support/key-import.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

/**
 * GetParametersForImport: a fresh wrapping key pair and an import token valid 24 hours, for keys
 * with origin EXTERNAL only, with the wrapping algorithms AWS supports today.
 */
describe('GetParametersForImport', () => {
  const clock = new ManualClock(Date.parse('2026-07-01T10:00:00Z'))
  const clients = new ClockedClients(clock)
  const ws = new ImportWorkspace()
  let kw: TestServer
  let external: KeyMetadata & { KeyId: string; Arn: string }
  const kms = () => clients.kms(kw.endpoint)
  const parameters = (
    input: Partial<ConstructorParameters<typeof GetParametersForImportCommand>[0]> = {},
  ) =>
    kms().send(
      new GetParametersForImportCommand({
        KeyId: external.KeyId,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
        ...input,
      }),
    )

  before(async () => {
    kw = await startKeyward({ clock })
    external = (await kms().send(new CreateKeyCommand({ Origin: 'EXTERNAL' })))
      .KeyMetadata! as typeof external
  })
  after(async () => {
    clients.destroy()
    ws.remove()
    await kw.close()
  })

  it('answers the key ARN, an RSA public key of the spec, a token and a validity of 24 hours', async () => {
    const out = await parameters({ KeyId: external.Arn })
    assert.equal(out.KeyId, external.Arn)
    assert.equal(out.ParametersValidTo!.getTime(), clock.now() + 24 * 3_600_000)
    const key = createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' })
    assert.equal(key.asymmetricKeyType, 'rsa')
    assert.equal(key.asymmetricKeyDetails!.modulusLength, 2048)
    // openssl reads it as the DER public key AWS's instructions hand to `pkeyutl -keyform DER`.
    const text = ws.run([
      'pkey',
      '-pubin',
      '-inform',
      'DER',
      '-in',
      ws.file(out.PublicKey!),
      '-text',
      '-noout',
    ])
    assert.ok(text.ok)
    assert.match(text.stdout.toString(), /Public-Key: \(2048 bit\)/)
    assert.ok(out.ImportToken!.length > 0)
  })

  it('makes a fresh wrapping key pair and token for every call', async () => {
    const a = await parameters()
    const b = await parameters()
    assert.notDeepEqual(Buffer.from(a.PublicKey!), Buffer.from(b.PublicKey!))
    assert.notDeepEqual(Buffer.from(a.ImportToken!), Buffer.from(b.ImportToken!))
  })

  it('gives each RSA wrapping key spec its size; the import token stays within 6144 bytes', async () => {
    for (const [spec, bits] of [
      ['RSA_3072', 3072],
      ['RSA_4096', 4096],
    ] as const) {
      const out = await parameters({
        WrappingKeySpec: spec,
        WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256',
      })
      const key = createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' })
      assert.equal(key.asymmetricKeyDetails!.modulusLength, bits)
      assert.ok(out.ImportToken!.length <= 6144, `${spec}: ${out.ImportToken!.length} bytes`)
    }
  })

  it('gives an SM2 wrapping key for SM2PKE (SM2 key spec only)', async () => {
    const out = await parameters({ WrappingAlgorithm: 'SM2PKE', WrappingKeySpec: 'SM2' })
    const text = ws.run([
      'pkey',
      '-pubin',
      '-inform',
      'DER',
      '-in',
      ws.file(out.PublicKey!),
      '-text',
      '-noout',
    ])
    assert.match(text.stdout.toString(), /ASN1 OID: SM2/)
  })

  it('refuses RSAES_PKCS1_V1_5, which AWS stopped supporting on 2023-10-10', async () => {
    await expectKmsError(
      parameters({ WrappingAlgorithm: 'RSAES_PKCS1_V1_5' }),
      'ValidationException',
      'The RSAES_PKCS1_V1_5 wrapping algorithm is not supported. Use RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.',
    )
  })

  it('refuses SM2PKE with an RSA wrapping key, and the SM2 wrapping key without SM2PKE', async () => {
    await expectKmsError(
      parameters({ WrappingAlgorithm: 'SM2PKE', WrappingKeySpec: 'RSA_4096' }),
      'ValidationException',
      'The wrapping algorithm SM2PKE cannot be used with the wrapping key spec RSA_4096. SM2PKE requires the SM2 wrapping key spec, and the SM2 wrapping key spec requires SM2PKE.',
    )
    await expectKmsError(
      parameters({ WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'SM2' }),
      'ValidationException',
      'The wrapping algorithm RSAES_OAEP_SHA_1 cannot be used with the wrapping key spec SM2. SM2PKE requires the SM2 wrapping key spec, and the SM2 wrapping key spec requires SM2PKE.',
    )
  })

  it('refuses a key whose origin is AWS_KMS (message recorded by AWS)', async () => {
    const { KeyMetadata } = await kms().send(new CreateKeyCommand({}))
    await expectKmsError(
      parameters({ KeyId: KeyMetadata!.KeyId }),
      'UnsupportedOperationException',
      `${KeyMetadata!.Arn} origin is AWS_KMS which is not valid for this operation.`,
    )
  })

  it('refuses a key pending deletion, an alias and an unknown key', async () => {
    const doomed = (await kms().send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId }))
    await expectKmsError(
      parameters({ KeyId: doomed.KeyId }),
      'KMSInvalidStateException',
      `${doomed.Arn} is pending deletion.`,
    )
    await kms().send(
      new CreateAliasCommand({ AliasName: 'alias/byok', TargetKeyId: external.KeyId }),
    )
    await expectKmsError(
      parameters({ KeyId: 'alias/byok' }),
      'NotFoundException',
      "Invalid keyId 'alias/byok'",
    )
    const missing = '8b1b1a4e-2f4c-4e4b-9a53-3c1d2e6f7a80'
    await expectKmsError(
      parameters({ KeyId: missing }),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
  })
})
