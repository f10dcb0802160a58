import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'

const ALIAS_ARN = 'arn:aws:kms:us-east-1:111122223333:alias'

describe('CreateAlias', () => {
  let kw: TestServer
  let kms: KMSClient
  const newKey = async (client = kms) => (await client.send(new CreateKeyCommand({}))).KeyMetadata!
  const aliasesOf = async (keyId: string) =>
    (await kms.send(new ListAliasesCommand({ KeyId: keyId }))).Aliases!.map((a) => a.AliasName)
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  it('names a key by key ID or ARN; the alias then works wherever aliases are accepted', async () => {
    const key = await newKey()
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/orders', TargetKeyId: key.KeyId }))
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/orders/v2', TargetKeyId: key.Arn }))
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/orders' }))
    assert.equal(KeyMetadata!.KeyId, key.KeyId)
    const byArn = await kms.send(
      new EncryptCommand({ KeyId: `${ALIAS_ARN}/orders/v2`, Plaintext: Buffer.from('x') }),
    )
    assert.equal(byArn.KeyId, key.Arn)
    assert.deepEqual(await aliasesOf(key.KeyId!), ['alias/orders', 'alias/orders/v2'])
  })

  it('accepts a disabled key', async () => {
    const key = await newKey()
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }))
    await kms.send(
      new CreateAliasCommand({ AliasName: 'alias/disabled-ok', TargetKeyId: key.KeyId }),
    )
    assert.deepEqual(await aliasesOf(key.KeyId!), ['alias/disabled-ok'])
  })

  it('refuses a name without the alias/ prefix with the message AWS sends', async () => {
    const key = await newKey()
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'orders', TargetKeyId: key.KeyId })),
      'ValidationException',
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    )
  })

  it('refuses the reserved alias/aws/ prefix', async () => {
    const key = await newKey()
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/s3', TargetKeyId: key.KeyId })),
      'InvalidAliasNameException',
      'Alias alias/aws/s3 is not valid: the alias/aws/ prefix is reserved for AWS managed keys.',
    )
    assert.deepEqual(await aliasesOf(key.KeyId!), [])
  })

  it("refuses ':' and an empty name, which the model's pattern lets through", async () => {
    const key = await newKey()
    for (const name of ['alias/my:alias', 'alias/']) {
      await expectKmsError(
        kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId })),
        'InvalidAliasNameException',
        `Alias ${name} is not valid: after alias/ an alias name contains only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-).`,
      )
    }
  })

  it("refuses characters outside the model's pattern with the model message", async () => {
    const key = await newKey()
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/my alias', TargetKeyId: key.KeyId })),
      'ValidationException',
      "1 validation error detected: Value 'alias/my alias' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
    )
  })

  it('refuses a name that exists, naming it by alias ARN', async () => {
    const [a, b] = [await newKey(), await newKey()]
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: a.KeyId }))
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: b.KeyId })),
      'AlreadyExistsException',
      `An alias with the name ${ALIAS_ARN}/taken already exists`,
    )
    assert.deepEqual(await aliasesOf(b.KeyId!), [])
  })

  it('takes a key ID or ARN as target, never an alias', async () => {
    const key = await newKey()
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/first', TargetKeyId: key.KeyId }))
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/second', TargetKeyId: 'alias/first' })),
      'NotFoundException',
      "Invalid keyId 'alias/first'",
    )
    const missing = 'e7d4c1b0-9a8f-4e6d-b5c4-a3b2c1d0e9f8'
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/second', TargetKeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
  })

  it("refuses another account's key", async () => {
    const theirs = await newKey(kw.client({ credentials: OTHER }))
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/theirs', TargetKeyId: theirs.Arn })),
      'AccessDeniedException',
      `User: arn:aws:iam::111122223333:user/admin is not authorized to perform: kms:CreateAlias on resource: ${theirs.Arn} because no resource-based policy allows the kms:CreateAlias action`,
    )
  })

  it('refuses a key pending deletion', async () => {
    const key = await newKey()
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/late', TargetKeyId: key.KeyId })),
      'KMSInvalidStateException',
      `${key.Arn} is pending deletion.`,
    )
  })

  it('allows 50 aliases per key and refuses the 51st', async () => {
    const key = await newKey()
    for (let i = 0; i < 50; i++) {
      await kms.send(
        new CreateAliasCommand({ AliasName: `alias/many-${i}`, TargetKeyId: key.KeyId }),
      )
    }
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/many-50', TargetKeyId: key.KeyId })),
      'LimitExceededException',
      `${key.Arn} already has 50 aliases, the maximum number of aliases per KMS key.`,
    )
    assert.equal((await aliasesOf(key.KeyId!)).length, 50)
  })

  it('keeps names per Region: the same name can name a key in another Region', async () => {
    const west = kw.client({ region: 'eu-west-1' })
    const [here, there] = [await newKey(), await newKey(west)]
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/regional', TargetKeyId: here.KeyId }))
    await west.send(
      new CreateAliasCommand({ AliasName: 'alias/regional', TargetKeyId: there.KeyId }),
    )
    const { KeyMetadata } = await west.send(new DescribeKeyCommand({ KeyId: 'alias/regional' }))
    assert.equal(KeyMetadata!.KeyId, there.KeyId)
  })
})
