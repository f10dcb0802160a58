import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { DEFAULT_RESOURCE_QUOTAS, THROTTLING_MESSAGE } from '../../src/domain/quotas.js'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'

/**
 * Issue 10: one credential created 48,543 keys in a minute. AWS's resource quotas (keys per
 * account and Region, aliases per key) and request quotas (requests per second), configurable,
 * with AWS's LimitExceededException and ThrottlingException; request quotas off in --dev.
 */

const servers: TestServer[] = []
after(async () => {
  for (const kw of servers) await kw.close()
})
const start = async (options: Parameters<typeof startKeyward>[0]) => {
  const kw = await startKeyward(options)
  servers.push(kw)
  return kw
}

describe('resource quotas', () => {
  it('refuses a key over the keys quota of the account and Region, pending deletion counted', async () => {
    const kw = await start({
      quotas: { resources: { ...DEFAULT_RESOURCE_QUOTAS, keys: 2 }, requestRates: false },
    })
    const kms = kw.client()
    const first = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
    await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: first.KeyId, PendingWindowInDays: 7 }))
    await expectKmsError(
      kms.send(new CreateKeyCommand({ Description: 'one too many' })),
      'LimitExceededException',
      'Key quota for this account in this region is 2 but the current usage is 2.',
    )
    await expectKmsError(
      kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' })),
      'LimitExceededException',
      'Key quota for this account in this region is 2 but the current usage is 2.',
    )
    // Per account and per Region.
    await kw.client({ credentials: OTHER }).send(new CreateKeyCommand({}))
    await kw.client({ region: 'eu-west-1' }).send(new CreateKeyCommand({}))
  })

  it('refuses an alias over the configured aliases quota of a key', async () => {
    const kw = await start({
      quotas: { resources: { ...DEFAULT_RESOURCE_QUOTAS, aliasesPerKey: 1 }, requestRates: false },
    })
    const kms = kw.client()
    const a = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
    const b = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/one', TargetKeyId: a.KeyId }))
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/two', TargetKeyId: b.KeyId }))
    const full = `${a.Arn} already has 1 aliases, the maximum number of aliases per KMS key.`
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/three', TargetKeyId: a.KeyId })),
      'LimitExceededException',
      full,
    )
    await expectKmsError(
      kms.send(new UpdateAliasCommand({ AliasName: 'alias/two', TargetKeyId: a.KeyId })),
      'LimitExceededException',
      full,
    )
  })
})

describe('request quotas', () => {
  const clock = new ManualClock()
  const clients = new ClockedClients(clock)
  after(() => clients.destroy())

  it("throttles CreateKey past AWS's default 5 per second, and admits more as time passes", async () => {
    const kw = await start({
      clock,
      quotas: { resources: DEFAULT_RESOURCE_QUOTAS, requestRates: {} },
    })
    const kms = clients.kms(kw.endpoint)
    let keyId = ''
    for (let i = 0; i < 5; i++)
      keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
    const throttled = await expectKmsError(
      kms.send(new CreateKeyCommand({ Description: 'sixth' })),
      'ThrottlingException',
      THROTTLING_MESSAGE,
    )
    assert.equal(throttled.$metadata?.httpStatusCode, 400)
    // Another quota of the same account is untouched.
    await kms.send(new DescribeKeyCommand({ KeyId: keyId }))
    clock.advance(200)
    await kms.send(new CreateKeyCommand({}))
  })

  it('takes a configured rate: 1 CreateKey per second', async () => {
    const kw = await start({
      clock,
      quotas: { resources: DEFAULT_RESOURCE_QUOTAS, requestRates: { overrides: { CreateKey: 1 } } },
    })
    const kms: KMSClient = clients.kms(kw.endpoint)
    await kms.send(new CreateKeyCommand({}))
    await expectKmsError(
      kms.send(new CreateKeyCommand({})),
      'ThrottlingException',
      THROTTLING_MESSAGE,
    )
    clock.advance(1000)
    await kms.send(new CreateKeyCommand({}))
  })

  it('never throttles in --dev', async () => {
    const kw = await start({
      clock,
      dev: true,
      quotas: { resources: DEFAULT_RESOURCE_QUOTAS, requestRates: { overrides: { CreateKey: 1 } } },
    })
    const kms = clients.kms(kw.endpoint)
    for (let i = 0; i < 8; i++) await kms.send(new CreateKeyCommand({}))
  })
})
