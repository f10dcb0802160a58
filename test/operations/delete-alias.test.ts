import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  ListAliasesCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { aliasNotFound } from '../support/aws-messages.js'

const ALIAS_ARN = 'arn:aws:kms:us-east-1:111122223333:alias'

describe('DeleteAlias', () => {
  let kw: TestServer
  let kms: KMSClient
  const newKey = async () => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  it('removes the alias and leaves the key alone', async () => {
    const key = await newKey()
    await kms.send(
      new CreateAliasCommand({ AliasName: 'alias/short-lived', TargetKeyId: key.KeyId }),
    )
    await kms.send(new DescribeKeyCommand({ KeyId: 'alias/short-lived' }))
    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/short-lived' }))
    await expectKmsError(
      kms.send(new DescribeKeyCommand({ KeyId: 'alias/short-lived' })),
      'NotFoundException',
      aliasNotFound(`${ALIAS_ARN}/short-lived`),
    )
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))
    assert.equal(KeyMetadata!.KeyState, 'Enabled')
    const { Aliases } = await kms.send(new ListAliasesCommand({ KeyId: key.KeyId }))
    assert.deepEqual(Aliases, [])
  })

  it('frees the name for a new alias', async () => {
    const [a, b] = [await newKey(), await newKey()]
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/reused', TargetKeyId: a.KeyId }))
    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/reused' }))
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/reused', TargetKeyId: b.KeyId }))
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/reused' }))
    assert.equal(KeyMetadata!.KeyId, b.KeyId)
  })

  it('works while the key is pending deletion', async () => {
    const key = await newKey()
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/pending', TargetKeyId: key.KeyId }))
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/pending' }))
    const { Aliases } = await kms.send(new ListAliasesCommand({ KeyId: key.KeyId }))
    assert.deepEqual(Aliases, [])
  })

  it('refuses an alias that does not exist, naming it by alias ARN', async () => {
    await expectKmsError(
      kms.send(new DeleteAliasCommand({ AliasName: 'alias/never' })),
      'NotFoundException',
      aliasNotFound(`${ALIAS_ARN}/never`),
    )
  })

  it('refuses a name without the alias/ prefix', async () => {
    await expectKmsError(
      kms.send(new DeleteAliasCommand({ AliasName: 'never' })),
      'ValidationException',
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    )
  })

  it("does not reach another Region's alias of the same name", async () => {
    const west = kw.client({ region: 'eu-west-1' })
    const { KeyMetadata } = await west.send(new CreateKeyCommand({}))
    await west.send(
      new CreateAliasCommand({ AliasName: 'alias/west', TargetKeyId: KeyMetadata!.KeyId }),
    )
    await expectKmsError(
      kms.send(new DeleteAliasCommand({ AliasName: 'alias/west' })),
      'NotFoundException',
      aliasNotFound(`${ALIAS_ARN}/west`),
    )
    await west.send(new DescribeKeyCommand({ KeyId: 'alias/west' }))
  })
})
