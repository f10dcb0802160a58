import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetKeyLastUsageCommand,
  ListKeysCommand,
  ReEncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import type { AuditEvent } from '../../src/ports/audit-sink.js'
import type { AuthorizationRequest } from '../../src/ports/authorizer.js'
import { AccessDeniedException } from '../../src/domain/errors/exceptions.js'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

/**
 * The request core (src/core/invoke.ts) through the AWS JSON front door: every call reaches
 * the audit sink once with the keys it resolved and its outcome, and the authorizer is asked
 * before any key reaches an operation.
 */
describe('the request core', () => {
  let kw: TestServer
  let kms: KMSClient
  const events: AuditEvent[] = []
  const asked: AuthorizationRequest[] = []
  /** Key ARNs the test authorizer refuses. */
  const refused = new Set<string>()
  const DENIED = 'User: arn:aws:iam::111122223333:user/admin is not authorized (test authorizer)'
  before(async () => {
    kw = await startKeyward({
      audit: { record: (event) => events.push(event) },
      authorizer: {
        authorize: (request) => {
          asked.push(request)
          if (refused.has(request.resource)) throw new AccessDeniedException(DENIED)
        },
      },
    })
    kms = kw.client()
  })
  after(() => kw.close())

  const newKey = async () => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
  const eventOf = (requestId: string | undefined) => {
    const found = events.filter((e) => e.requestId === requestId)
    assert.equal(found.length, 1, `one audit event for request ${requestId}`)
    return found[0]!
  }

  it('reports a call with the keys it resolved: ReEncrypt, source and destination', async () => {
    const source = await newKey()
    const destination = await newKey()
    await kms.send(
      new CreateAliasCommand({ AliasName: 'alias/core-dst', TargetKeyId: destination.KeyId }),
    )
    const enc = await kms.send(
      new EncryptCommand({ KeyId: source.Arn, Plaintext: Buffer.from('x') }),
    )
    const out = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        DestinationKeyId: 'alias/core-dst',
      }),
    )
    const event = eventOf(out.$metadata.requestId)
    assert.equal(event.operation, 'ReEncrypt')
    assert.equal(event.outcome, 'success')
    assert.equal(event.region, 'us-east-1')
    assert.equal(event.caller?.arn, 'arn:aws:iam::111122223333:user/admin')
    assert.deepEqual(event.keys.map((k) => k.arn).sort(), [source.Arn, destination.Arn].sort())
    assert.deepEqual(
      event.keys.find((k) => k.arn === source.Arn),
      { arn: source.Arn, region: 'us-east-1', keyId: source.KeyId },
    )
  })

  it('reports a refused call with the exception name it was answered with', async () => {
    const key = await newKey()
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }))
    const before = events.length
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
      'DisabledException',
      `${key.Arn} is disabled.`,
    )
    const event = events.slice(before).find((e) => e.operation === 'Encrypt')!
    assert.deepEqual(event.outcome, {
      error: 'DisabledException',
      message: `${key.Arn} is disabled.`,
    })
    assert.deepEqual(
      event.keys.map((k) => k.arn),
      [key.Arn],
    )
  })

  it('reports an operation on no key with no keys', async () => {
    const out = await kms.send(new ListKeysCommand({}))
    const event = eventOf(out.$metadata.requestId)
    assert.equal(event.operation, 'ListKeys')
    assert.deepEqual(event.keys, [])
  })

  it('asks the authorizer for each resolved key, and on * for operations on no key', async () => {
    asked.length = 0
    const key = await newKey()
    assert.deepEqual(
      asked.map((r) => [r.action, r.resource]),
      [['kms:CreateKey', '*']],
    )
    asked.length = 0
    const out = await kms.send(new DescribeKeyCommand({ KeyId: key.Arn }))
    assert.equal(asked.length, 1)
    assert.equal(asked[0]!.action, 'kms:DescribeKey')
    assert.equal(asked[0]!.resource, key.Arn)
    assert.equal(asked[0]!.caller.accountId, '111122223333')
    assert.deepEqual(asked[0]!.context, {
      region: 'us-east-1',
      requestId: out.$metadata.requestId,
      // The front door says where the call came from (aws:SourceIp, aws:SecureTransport,
      // aws:UserAgent: the SDK's own User-Agent header).
      origin: {
        sourceIp: '127.0.0.1',
        secureTransport: false,
        userAgent: asked[0]!.context.origin?.userAgent,
      },
    })
    assert.match(asked[0]!.context.origin?.userAgent ?? '', /^aws-sdk-js\/3\./)
  })

  it('stops a call the authorizer refuses before the operation acts, and records no use', async () => {
    const key = await newKey()
    refused.add(key.Arn!)
    try {
      await expectKmsError(
        kms.send(new DisableKeyCommand({ KeyId: key.KeyId })),
        'AccessDeniedException',
        DENIED,
      )
      await expectKmsError(
        kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
        'AccessDeniedException',
        DENIED,
      )
    } finally {
      refused.delete(key.Arn!)
    }
    const described = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))
    assert.equal(described.KeyMetadata?.KeyState, 'Enabled')
    const usage = await kms.send(new GetKeyLastUsageCommand({ KeyId: key.KeyId }))
    assert.deepEqual(usage.KeyLastUsage, {})
  })
})
