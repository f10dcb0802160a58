import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DisableKeyCommand,
  GenerateMacCommand,
  VerifyMacCommand,
  type KMSClient,
  type MacAlgorithmSpec,
} from '@aws-sdk/client-kms'
import { KEY_SPECS, type KeySpec } from '../../src/domain/key-specs.js'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { b64, expectBareWireError, NO_MESSAGE, sendRaw } from './crypto-fixtures.js'

/**
 * GenerateMac and VerifyMac for every HMAC key spec of the table. Until keys with imported
 * material exist (a later issue) no test knows a key's bytes, so the checks are round trips,
 * the MAC length of each hash, determinism, and mismatches across keys, messages and specs.
 */
const HMAC_SPECS = (Object.keys(KEY_SPECS) as KeySpec[]).filter((s) =>
  KEY_SPECS[s].keyUsages.includes('GENERATE_VERIFY_MAC'),
)
const MAC_BYTES: Record<string, number> = {
  HMAC_SHA_224: 28,
  HMAC_SHA_256: 32,
  HMAC_SHA_384: 48,
  HMAC_SHA_512: 64,
}

describe('GenerateMac and VerifyMac', () => {
  let kw: TestServer
  let kms: KMSClient
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  const hmacKey = async (spec: KeySpec) =>
    (
      await kms.send(
        new CreateKeyCommand({ KeySpec: spec as 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }),
      )
    ).KeyMetadata!

  for (const spec of HMAC_SPECS) {
    const algorithm = KEY_SPECS[spec].macAlgorithms[0] as MacAlgorithmSpec
    it(`${spec} with ${algorithm}: a deterministic MAC that only its key and message verify`, async () => {
      const key = await hmacKey(spec)
      const other = await hmacKey(spec)
      const message = Buffer.from(`message for ${spec}`)
      const mac = async (keyId: string, m: Buffer) =>
        kms.send(new GenerateMacCommand({ KeyId: keyId, Message: m, MacAlgorithm: algorithm }))
      const out = await mac(key.KeyId!, message)
      assert.equal(out.KeyId, key.Arn)
      assert.equal(out.MacAlgorithm, algorithm)
      assert.equal(out.Mac!.length, MAC_BYTES[algorithm])
      assert.deepEqual((await mac(key.KeyId!, message)).Mac, out.Mac)
      assert.notDeepEqual((await mac(other.KeyId!, message)).Mac, out.Mac)

      const verified = await kms.send(
        new VerifyMacCommand({
          KeyId: key.KeyId,
          Message: message,
          Mac: out.Mac,
          MacAlgorithm: algorithm,
        }),
      )
      assert.deepEqual(verified, {
        ...verified,
        KeyId: key.Arn,
        MacValid: true,
        MacAlgorithm: algorithm,
      })
      for (const wrong of [
        { KeyId: other.KeyId, Message: message, Mac: out.Mac },
        { KeyId: key.KeyId, Message: Buffer.from('another message'), Mac: out.Mac },
        { KeyId: key.KeyId, Message: message, Mac: out.Mac!.subarray(1) },
        { KeyId: key.KeyId, Message: message, Mac: Buffer.concat([out.Mac!, Buffer.from([0])]) },
      ]) {
        await expectKmsError(
          kms.send(new VerifyMacCommand({ ...wrong, MacAlgorithm: algorithm })),
          'KMSInvalidMacException',
          NO_MESSAGE,
        )
      }
    })
  }

  it('sends KMSInvalidMacException with no message at all on the wire', async () => {
    const key = await hmacKey('HMAC_256')
    const r = await sendRaw(kw, 'VerifyMac', {
      KeyId: key.KeyId,
      Message: b64(Buffer.from('m')),
      Mac: b64(Buffer.alloc(32)),
      MacAlgorithm: 'HMAC_SHA_256',
    })
    expectBareWireError(r, 'KMSInvalidMacException')
  })

  it("refuses another spec's algorithm with AWS's message", async () => {
    const key = await hmacKey('HMAC_224')
    await expectKmsError(
      kms.send(
        new GenerateMacCommand({
          KeyId: key.KeyId,
          Message: Buffer.from('m'),
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      ),
      'InvalidKeyUsageException',
      'Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.',
    )
    const key256 = await hmacKey('HMAC_256')
    await expectKmsError(
      kms.send(
        new VerifyMacCommand({
          KeyId: key256.KeyId,
          Message: Buffer.from('m'),
          Mac: Buffer.alloc(64),
          MacAlgorithm: 'HMAC_SHA_512',
        }),
      ),
      'InvalidKeyUsageException',
      'Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.',
    )
  })

  it('refuses keys of another usage, naming the key', async () => {
    for (const input of [{}, { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }] as const) {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand(input))
      await expectKmsError(
        kms.send(
          new GenerateMacCommand({
            KeyId: KeyMetadata!.KeyId,
            Message: Buffer.from('m'),
            MacAlgorithm: 'HMAC_SHA_256',
          }),
        ),
        'InvalidKeyUsageException',
        `${KeyMetadata!.Arn} key usage is ${KeyMetadata!.KeyUsage} which is not valid for GenerateMac.`,
      )
      await expectKmsError(
        kms.send(
          new VerifyMacCommand({
            KeyId: KeyMetadata!.KeyId,
            Message: Buffer.from('m'),
            Mac: Buffer.alloc(32),
            MacAlgorithm: 'HMAC_SHA_256',
          }),
        ),
        'InvalidKeyUsageException',
        `${KeyMetadata!.Arn} key usage is ${KeyMetadata!.KeyUsage} which is not valid for VerifyMac.`,
      )
    }
  })

  it('refuses a malformed key ID as AWS does', async () => {
    await expectKmsError(
      kms.send(
        new GenerateMacCommand({
          KeyId: 'key_id',
          Message: Buffer.from('m'),
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      ),
      'NotFoundException',
      "Invalid keyId 'key_id'",
    )
  })

  it('refuses a disabled key, and stops a DryRun after the checks', async () => {
    const key = await hmacKey('HMAC_512')
    const input = {
      KeyId: key.KeyId,
      Message: Buffer.from('m'),
      MacAlgorithm: 'HMAC_SHA_512',
    } as const
    await expectKmsError(
      kms.send(new GenerateMacCommand({ ...input, DryRun: true })),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    )
    await expectKmsError(
      kms.send(new VerifyMacCommand({ ...input, Mac: Buffer.alloc(64), DryRun: true })),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    )
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }))
    await expectKmsError(
      kms.send(new GenerateMacCommand(input)),
      'DisabledException',
      `${key.Arn} is disabled.`,
    )
  })

  it('CreateKey requires KeyUsage for HMAC keys and refuses a usage the spec lacks', async () => {
    await expectKmsError(
      kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256' })),
      'ValidationException',
      'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
    )
    await expectKmsError(
      kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'SIGN_VERIFY' })),
      'ValidationException',
      'KeyUsage SIGN_VERIFY is not compatible with KeySpec HMAC_256',
    )
  })
})
