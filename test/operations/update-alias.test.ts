import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  ListAliasesCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms'
import { keyArn } from '../../src/domain/identifiers.js'
import { defaultKeyPolicy } from '../../src/domain/policy/index.js'
import type { KeyRecord } from '../../src/domain/key.js'
import type { KeySpec, KeyUsage } from '../../src/domain/key-specs.js'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { aliasNotFound } from '../support/aws-messages.js'

const ACCOUNT = '111122223333'
const ALIAS_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:alias`

describe('UpdateAlias', () => {
  const clock = new ManualClock(Date.parse('2026-05-01T08:00:00Z'))
  let kw: TestServer
  const clients = new ClockedClients(clock)
  /** An SDK client that signs with the server's (manual) time, so SigV4 accepts it. */
  const kms = () => clients.kms(kw.endpoint)
  const newKey = async () => (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
  /**
   * A key of a spec CreateKey does not build yet, stored directly: UpdateAlias only compares
   * key types and usages, so no material is needed.
   */
  let serial = 0
  const storedKey = async (keySpec: KeySpec, keyUsage: KeyUsage) => {
    const keyId = `00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`
    const scope = { accountId: ACCOUNT, region: 'us-east-1' }
    const record: KeyRecord = {
      schemaVersion: 1,
      keyId,
      accountId: ACCOUNT,
      region: 'us-east-1',
      arn: keyArn(scope, keyId),
      creationDate: clock.now(),
      keyState: 'Enabled',
      description: '',
      keyUsage,
      keySpec,
      origin: 'AWS_KMS',
      keyManager: 'CUSTOMER',
      multiRegion: false,
      policy: defaultKeyPolicy(ACCOUNT),
      tags: [],
    }
    await kw.keyward.keys.create(record)
    return { KeyId: keyId, Arn: record.arn }
  }
  const aliasNamed = async (name: string) =>
    (await kms().send(new ListAliasesCommand({}))).Aliases!.find((a) => a.AliasName === name)
  before(async () => {
    kw = await startKeyward({ clock })
  })
  after(async () => {
    clients.destroy()
    await kw.close()
  })

  it('points the alias at the new key, keeping CreationDate and moving LastUpdatedDate', async () => {
    const [from, to] = [await newKey(), await newKey()]
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: from.KeyId }))
    const created = clock.now()
    clock.advance(60_000)
    await kms().send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: to.Arn }))
    const alias = await aliasNamed('alias/moving')
    assert.equal(alias!.TargetKeyId, to.KeyId)
    assert.equal(alias!.CreationDate!.getTime(), created)
    assert.equal(alias!.LastUpdatedDate!.getTime(), created + 60_000)
    const { KeyMetadata } = await kms().send(new DescribeKeyCommand({ KeyId: 'alias/moving' }))
    assert.equal(KeyMetadata!.KeyId, to.KeyId)
  })

  it('succeeds when the current target is pending deletion', async () => {
    const [from, to] = [await newKey(), await newKey()]
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/rescue', TargetKeyId: from.KeyId }))
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: from.KeyId }))
    await kms().send(new UpdateAliasCommand({ AliasName: 'alias/rescue', TargetKeyId: to.KeyId }))
    assert.equal((await aliasNamed('alias/rescue'))!.TargetKeyId, to.KeyId)
  })

  it('refuses a new target pending deletion, changing nothing', async () => {
    const [from, to] = [await newKey(), await newKey()]
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/stay', TargetKeyId: from.KeyId }))
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: to.KeyId }))
    await expectKmsError(
      kms().send(new UpdateAliasCommand({ AliasName: 'alias/stay', TargetKeyId: to.KeyId })),
      'KMSInvalidStateException',
      `${to.Arn} is pending deletion.`,
    )
    assert.equal((await aliasNamed('alias/stay'))!.TargetKeyId, from.KeyId)
  })

  it('refuses a new target of another key type or key usage', async () => {
    const symmetric = await newKey()
    const hmac = await storedKey('HMAC_256', 'GENERATE_VERIFY_MAC')
    const rsaEncrypt = await storedKey('RSA_2048', 'ENCRYPT_DECRYPT')
    await kms().send(
      new CreateAliasCommand({ AliasName: 'alias/typed', TargetKeyId: symmetric.KeyId }),
    )
    await expectKmsError(
      kms().send(new UpdateAliasCommand({ AliasName: 'alias/typed', TargetKeyId: hmac.KeyId })),
      'ValidationException',
      `The new target ${hmac.Arn} (HMAC, GENERATE_VERIFY_MAC) must have the same key type and key usage as the current target ${symmetric.Arn} (symmetric, ENCRYPT_DECRYPT).`,
    )
    // Same usage (ENCRYPT_DECRYPT) is not enough: RSA is asymmetric.
    await expectKmsError(
      kms().send(
        new UpdateAliasCommand({ AliasName: 'alias/typed', TargetKeyId: rsaEncrypt.KeyId }),
      ),
      'ValidationException',
      `The new target ${rsaEncrypt.Arn} (asymmetric, ENCRYPT_DECRYPT) must have the same key type and key usage as the current target ${symmetric.Arn} (symmetric, ENCRYPT_DECRYPT).`,
    )
    assert.equal((await aliasNamed('alias/typed'))!.TargetKeyId, symmetric.KeyId)
  })

  it('moves between asymmetric keys of different specs with the same usage', async () => {
    const rsa = await storedKey('RSA_2048', 'SIGN_VERIFY')
    const ecc = await storedKey('ECC_NIST_P256', 'SIGN_VERIFY')
    const rsaEncrypt = await storedKey('RSA_3072', 'ENCRYPT_DECRYPT')
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/signer', TargetKeyId: rsa.KeyId }))
    await kms().send(new UpdateAliasCommand({ AliasName: 'alias/signer', TargetKeyId: ecc.KeyId }))
    assert.equal((await aliasNamed('alias/signer'))!.TargetKeyId, ecc.KeyId)
    await expectKmsError(
      kms().send(
        new UpdateAliasCommand({ AliasName: 'alias/signer', TargetKeyId: rsaEncrypt.Arn }),
      ),
      'ValidationException',
      `The new target ${rsaEncrypt.Arn} (asymmetric, ENCRYPT_DECRYPT) must have the same key type and key usage as the current target ${ecc.Arn} (asymmetric, SIGN_VERIFY).`,
    )
  })

  it('refuses an alias that does not exist', async () => {
    const key = await newKey()
    await expectKmsError(
      kms().send(new UpdateAliasCommand({ AliasName: 'alias/nowhere', TargetKeyId: key.KeyId })),
      'NotFoundException',
      aliasNotFound(`${ALIAS_ARN}/nowhere`),
    )
  })

  it('refuses a name without the alias/ prefix', async () => {
    const key = await newKey()
    await expectKmsError(
      kms().send(new UpdateAliasCommand({ AliasName: 'moving', TargetKeyId: key.KeyId })),
      'ValidationException',
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    )
  })

  it('takes a key ID or ARN as target, never an alias', async () => {
    const key = await newKey()
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/a1', TargetKeyId: key.KeyId }))
    await expectKmsError(
      kms().send(new UpdateAliasCommand({ AliasName: 'alias/a1', TargetKeyId: 'alias/a1' })),
      'NotFoundException',
      "Invalid keyId 'alias/a1'",
    )
  })

  it('refuses a new target that already has 50 aliases', async () => {
    const [from, full] = [await newKey(), await newKey()]
    for (let i = 0; i < 50; i++) {
      await kms().send(
        new CreateAliasCommand({ AliasName: `alias/full-${i}`, TargetKeyId: full.KeyId }),
      )
    }
    await kms().send(
      new CreateAliasCommand({ AliasName: 'alias/one-more', TargetKeyId: from.KeyId }),
    )
    await expectKmsError(
      kms().send(new UpdateAliasCommand({ AliasName: 'alias/one-more', TargetKeyId: full.KeyId })),
      'LimitExceededException',
      `${full.Arn} already has 50 aliases, the maximum number of aliases per KMS key.`,
    )
    // Re-pointing an alias at the key it already names is not a new alias.
    await kms().send(new UpdateAliasCommand({ AliasName: 'alias/full-0', TargetKeyId: full.Arn }))
  })
})
