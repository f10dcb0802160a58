import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateMacCommand,
  GetKeyLastUsageCommand,
  ListKeysCommand,
  ReEncryptCommand,
  RetireGrantCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  KMSClient,
} from '@aws-sdk/client-kms'
import { ManualClock } from '../../src/ports/clock.js'
import { userIdentityOf } from '../../src/domain/audit-event.js'
import { expectKmsError } from '../support/assertions.js'
import { ImportWorkspace, importMaterial } from '../support/key-import.js'
import { createTestPki, type TestPki } from '../support/test-pki.js'
import { startXksProxy, type RunningXksProxy } from '../support/xks-proxy.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { ADMIN } from '../support/keyward-server.js'
import { records, startAudited, type AuditedServer } from '../adapters/audit-file/trail-support.js'

const ACCOUNT = '111122223333'
const ADMIN_IDENTITY = {
  type: 'IAMUser',
  arn: `arn:aws:iam::${ACCOUNT}:user/admin`,
  accountId: ACCOUNT,
  userName: 'admin',
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/

/**
 * Every member of a CloudTrail record of an API call: the ones that vary per call are checked
 * by form (and the request ID against the answer's), the rest compared whole.
 */
function assertCallRecord(
  record: Record<string, unknown> | undefined,
  expected: {
    requestId: string | undefined
    eventName: string
    readOnly: boolean
    keys: readonly string[]
    requestParameters: unknown
    responseElements?: unknown
    error?: { errorCode: string; errorMessage: string }
    userIdentity?: unknown
  },
) {
  assert.ok(record, `no record of ${expected.eventName}`)
  const { eventTime, eventID, requestID, sourceIPAddress, userAgent, ...rest } = record
  assert.match(String(eventTime), TIME)
  assert.match(String(eventID), UUID)
  assert.notEqual(eventID, requestID)
  assert.equal(requestID, expected.requestId)
  assert.equal(sourceIPAddress, '127.0.0.1')
  assert.match(String(userAgent), /aws-sdk-js/)
  assert.deepEqual(rest, {
    eventVersion: '1.11',
    userIdentity: expected.userIdentity ?? { ...ADMIN_IDENTITY, accessKeyId: ADMIN.accessKeyId },
    eventSource: 'kms.amazonaws.com',
    eventName: expected.eventName,
    awsRegion: 'us-east-1',
    ...(expected.error ?? {}),
    requestParameters: expected.requestParameters,
    responseElements: expected.responseElements ?? null,
    readOnly: expected.readOnly,
    resources: expected.keys.map((ARN) => ({ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN })),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  })
}

describe('audit events: every member, per family of operations', () => {
  const clock = new ManualClock()
  const clients = new ClockedClients(clock)
  let s: AuditedServer
  let kms: KMSClient
  let all: Array<Record<string, unknown>>
  const byRequest = (id: string | undefined) => all.find((r) => r.requestID === id)
  const ids: Record<string, string | undefined> = {}
  let key: { KeyId?: string; Arn?: string; CreationDate?: Date }
  let other: { KeyId?: string; Arn?: string }
  let imported: { KeyId?: string; Arn?: string }
  let xksStore: { id: string; state: string | undefined }
  const ws = new ImportWorkspace()
  let pki: TestPki
  let proxy: RunningXksProxy

  before(async () => {
    pki = createTestPki()
    proxy = await startXksProxy({ pki })
    s = await startAudited({
      clock,
      xksClient: { caCertificates: pki.ca.certPem, timeoutMs: 2000 },
    })
    kms = clients.kms(s.kw.endpoint)
    const created = await kms.send(
      new CreateKeyCommand({ Description: 'audited', Tags: [{ TagKey: 'team', TagValue: 'a' }] }),
    )
    ids.createKey = created.$metadata.requestId
    key = created.KeyMetadata!
    other = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
    const context = { purpose: 'test', Owner: 'Alice' }
    const enc = await kms.send(
      new EncryptCommand({
        KeyId: key.KeyId,
        Plaintext: Buffer.from('plain'),
        EncryptionContext: context,
        GrantTokens: [],
      }),
    )
    ids.encrypt = enc.$metadata.requestId
    ids.decrypt = (
      await kms.send(
        new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }),
      )
    ).$metadata.requestId
    ids.reEncrypt = (
      await kms.send(
        new ReEncryptCommand({
          CiphertextBlob: enc.CiphertextBlob,
          SourceEncryptionContext: context,
          DestinationKeyId: other.KeyId,
        }),
      )
    ).$metadata.requestId
    ids.generateDataKey = (
      await kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }))
    ).$metadata.requestId
    const signing = (
      await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))
    ).KeyMetadata!
    ids.sign = (
      await kms.send(
        new SignCommand({
          KeyId: signing.KeyId,
          Message: Buffer.from('message'),
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      )
    ).$metadata.requestId
    ids.signingKey = signing.Arn
    const mac = (
      await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))
    ).KeyMetadata!
    ids.generateMac = (
      await kms.send(
        new GenerateMacCommand({
          KeyId: mac.KeyId,
          Message: Buffer.from('m'),
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      )
    ).$metadata.requestId
    ids.macKey = mac.Arn
    const grant = await kms.send(
      new CreateGrantCommand({
        KeyId: key.KeyId,
        GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/admin`,
        Operations: ['Encrypt'],
        Constraints: { EncryptionContextSubset: { purpose: 'test' } },
      }),
    )
    ids.createGrant = grant.$metadata.requestId
    ids.grantId = grant.GrantId
    ids.retireGrant = (
      await kms.send(new RetireGrantCommand({ GrantToken: grant.GrantToken }))
    ).$metadata.requestId
    ids.createAlias = (
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/audited', TargetKeyId: key.KeyId }))
    ).$metadata.requestId
    ids.describeKey = (
      await kms.send(new DescribeKeyCommand({ KeyId: 'alias/audited' }))
    ).$metadata.requestId
    ids.listKeys = (await kms.send(new ListKeysCommand({ Limit: 5 }))).$metadata.requestId
    await kms.send(new DisableKeyCommand({ KeyId: other.KeyId }))
    const refused = await kms
      .send(new EncryptCommand({ KeyId: other.KeyId, Plaintext: Buffer.from('x') }))
      .catch((error: { $metadata: { requestId?: string } }) => error)
    ids.refused = (refused as { $metadata: { requestId?: string } }).$metadata.requestId
    const store = await kms
      .send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'audited-store',
          CloudHsmClusterId: 'cluster-234567abcdefg',
          TrustAnchorCertificate: 'certificate',
          KeyStorePassword: 'kmsuser-password-canary',
        }),
      )
      .catch((error: { $metadata: { requestId?: string } }) => error)
    ids.createCustomKeyStore = (store as { $metadata: { requestId?: string } }).$metadata.requestId
    const scheduled = await kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: other.KeyId, PendingWindowInDays: 7 }),
    )
    ids.schedule = scheduled.$metadata.requestId
    ids.deletionDate = scheduled.DeletionDate!.toISOString()
    await kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }))
    // Imported material that expires in a day.
    imported = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!
    await importMaterial(() => clients.kms(s.kw.endpoint), ws, {
      keyId: imported.KeyId!,
      material: ws.rand(32),
      input: {
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: new Date(clock.now() + 86_400_000),
      },
    })
    // An external key store: the service connects it in the background, by itself.
    const { CustomKeyStoreId } = await kms.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: 'audited-xks',
        CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
        XksProxyUriEndpoint: proxy.endpoint,
        XksProxyUriPath: proxy.uriPath,
        XksProxyConnectivity: 'PUBLIC_ENDPOINT',
        XksProxyAuthenticationCredential: proxy.credential,
      }),
    )
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId }))
    let state: { ConnectionState?: string; ConnectionErrorCode?: string } = {}
    for (let i = 0; i < 200 && state.ConnectionState !== 'CONNECTED'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25))
      state = (await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId })))
        .CustomKeyStores![0]!
    }
    xksStore = { id: CustomKeyStoreId!, state: state.ConnectionState }
    // The scheduler's own work: the deletion and the rotation are due after 91 days.
    clock.advance(91 * 86_400_000)
    await s.kw.keyward.scheduler.runOnce()
    await s.trail.flush()
    all = await records(s.streamDir)
  })
  after(async () => {
    clients.destroy()
    ws.remove()
    await s.close()
    await proxy.stop()
    pki.remove()
  })

  it('cryptographic operations: key, algorithm and encryption context, never the data', () => {
    const context = { purpose: 'test', Owner: 'Alice' }
    assertCallRecord(byRequest(ids.encrypt), {
      requestId: ids.encrypt,
      eventName: 'Encrypt',
      readOnly: true,
      keys: [key.Arn!],
      requestParameters: { keyId: key.KeyId, encryptionContext: context },
    })
    assertCallRecord(byRequest(ids.decrypt), {
      requestId: ids.decrypt,
      eventName: 'Decrypt',
      readOnly: true,
      keys: [key.Arn!],
      requestParameters: { encryptionContext: context },
    })
    assertCallRecord(byRequest(ids.reEncrypt), {
      requestId: ids.reEncrypt,
      eventName: 'ReEncrypt',
      readOnly: true,
      keys: [key.Arn!, other.Arn!],
      requestParameters: { destinationKeyId: other.KeyId, sourceEncryptionContext: context },
    })
    assertCallRecord(byRequest(ids.generateDataKey), {
      requestId: ids.generateDataKey,
      eventName: 'GenerateDataKey',
      readOnly: true,
      keys: [key.Arn!],
      requestParameters: { keyId: key.KeyId, keySpec: 'AES_256' },
    })
    assertCallRecord(byRequest(ids.sign), {
      requestId: ids.sign,
      eventName: 'Sign',
      readOnly: true,
      keys: [ids.signingKey!],
      requestParameters: {
        keyId: ids.signingKey!.split('/')[1],
        signingAlgorithm: 'ECDSA_SHA_256',
      },
    })
    assertCallRecord(byRequest(ids.generateMac), {
      requestId: ids.generateMac,
      eventName: 'GenerateMac',
      readOnly: true,
      keys: [ids.macKey!],
      requestParameters: { keyId: ids.macKey!.split('/')[1], macAlgorithm: 'HMAC_SHA_256' },
    })
  })

  it('key management: the settings asked for and what AWS records of the answer', () => {
    const record = byRequest(ids.createKey)!
    const metadata = (record.responseElements as { keyMetadata: Record<string, unknown> })
      .keyMetadata
    assert.equal(metadata.keyId, key.KeyId)
    assert.equal(metadata.arn, key.Arn)
    assert.equal(metadata.creationDate, key.CreationDate!.toISOString())
    assertCallRecord(record, {
      requestId: ids.createKey,
      eventName: 'CreateKey',
      readOnly: false,
      keys: [],
      requestParameters: { description: 'audited', tags: [{ tagKey: 'team', tagValue: 'a' }] },
      responseElements: { keyMetadata: metadata },
    })
    assertCallRecord(byRequest(ids.schedule), {
      requestId: ids.schedule,
      eventName: 'ScheduleKeyDeletion',
      readOnly: false,
      keys: [other.Arn!],
      requestParameters: { keyId: other.KeyId, pendingWindowInDays: 7 },
      responseElements: {
        keyId: other.Arn,
        deletionDate: ids.deletionDate,
        keyState: 'PendingDeletion',
        pendingWindowInDays: 7,
      },
    })
    assertCallRecord(byRequest(ids.createAlias), {
      requestId: ids.createAlias,
      eventName: 'CreateAlias',
      readOnly: false,
      keys: [key.Arn!],
      requestParameters: { aliasName: 'alias/audited', targetKeyId: key.KeyId },
    })
  })

  it('grants: the grant ID, never the grant token', () => {
    assertCallRecord(byRequest(ids.createGrant), {
      requestId: ids.createGrant,
      eventName: 'CreateGrant',
      readOnly: false,
      keys: [key.Arn!],
      requestParameters: {
        keyId: key.KeyId,
        granteePrincipal: `arn:aws:iam::${ACCOUNT}:user/admin`,
        operations: ['Encrypt'],
        constraints: { encryptionContextSubset: { purpose: 'test' } },
      },
      responseElements: { grantId: ids.grantId },
    })
    assertCallRecord(byRequest(ids.retireGrant), {
      requestId: ids.retireGrant,
      eventName: 'RetireGrant',
      readOnly: false,
      // Found by its token, not by a KeyId: the core resolved no key.
      keys: [],
      requestParameters: null,
    })
  })

  it('reads: readOnly, no response elements', () => {
    assertCallRecord(byRequest(ids.describeKey), {
      requestId: ids.describeKey,
      eventName: 'DescribeKey',
      readOnly: true,
      keys: [key.Arn!],
      requestParameters: { keyId: 'alias/audited' },
    })
    assertCallRecord(byRequest(ids.listKeys), {
      requestId: ids.listKeys,
      eventName: 'ListKeys',
      readOnly: true,
      keys: [],
      requestParameters: { limit: 5 },
    })
  })

  it('refusals: the exception and its message; custom key store secrets never', () => {
    assertCallRecord(byRequest(ids.refused), {
      requestId: ids.refused,
      eventName: 'Encrypt',
      readOnly: true,
      keys: [other.Arn!],
      requestParameters: { keyId: other.KeyId },
      error: { errorCode: 'DisabledException', errorMessage: `${other.Arn} is disabled.` },
    })
    const store = byRequest(ids.createCustomKeyStore)!
    assert.equal(store.eventName, 'CreateCustomKeyStore')
    assert.deepEqual(store.requestParameters, {
      customKeyStoreName: 'audited-store',
      cloudHsmClusterId: 'cluster-234567abcdefg',
    })
    assert.equal(store.errorCode, 'CloudHsmClusterNotFoundException')
    assert.doesNotMatch(JSON.stringify(all), /kmsuser-password-canary/)
  })

  it('an authentication failure, before the core: who claimed to call, nothing of the body', async () => {
    const forged = new KMSClient({
      endpoint: s.kw.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'not-the-secret' },
      maxAttempts: 1,
      systemClockOffset: clock.now() - Date.now(),
    })
    const failed = await expectKmsError(
      forged.send(new ListKeysCommand({})),
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    )
    forged.destroy()
    await s.trail.flush()
    const record = (await records(s.streamDir)).find(
      (r) =>
        r.requestID === (failed as { $metadata?: { requestId?: string } }).$metadata?.requestId,
    )
    assertCallRecord(record, {
      requestId: (failed as { $metadata?: { requestId?: string } }).$metadata?.requestId,
      eventName: 'ListKeys',
      readOnly: false,
      keys: [],
      requestParameters: null,
      userIdentity: { type: 'Unknown', accessKeyId: ADMIN.accessKeyId },
      error: {
        errorCode: 'InvalidSignatureException',
        errorMessage:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      },
    })
  })

  it('service events: deletion, rotation, expiry, a store connected by the service', () => {
    const service = all.filter((r) => r.eventType === 'AwsServiceEvent')
    const deleted = service.find((r) => r.eventName === 'DeleteKey')!
    const { eventTime, eventID, ...rest } = deleted
    assert.match(String(eventTime), TIME)
    assert.match(String(eventID), UUID)
    assert.deepEqual(rest, {
      eventVersion: '1.11',
      userIdentity: { type: 'AWSService', accountId: ACCOUNT, invokedBy: 'kms.amazonaws.com' },
      eventSource: 'kms.amazonaws.com',
      eventName: 'DeleteKey',
      awsRegion: 'us-east-1',
      sourceIPAddress: 'kms.amazonaws.com',
      userAgent: 'kms.amazonaws.com',
      requestParameters: null,
      responseElements: null,
      readOnly: false,
      resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: other.Arn }],
      eventType: 'AwsServiceEvent',
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: 'Management',
    })
    const rotated = service.find((r) => r.eventName === 'RotateKey')!
    assert.deepEqual(rotated.resources, [
      { accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: key.Arn },
    ])
    assert.equal(
      (rotated.serviceEventDetails as { rotationType: string }).rotationType,
      'AUTOMATIC',
    )
    const expired = service.find((r) => r.eventName === 'DeleteExpiredKeyMaterial')!
    assert.deepEqual(expired.resources, [
      { accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: imported.Arn },
    ])
    assert.match(
      String((expired.serviceEventDetails as { keyMaterialId: string }).keyMaterialId),
      /^[0-9a-f]{64}$/,
    )
    const connected = service.find((r) => r.eventName === 'CustomKeyStoreConnectionStateChange')!
    assert.equal(xksStore.state, 'CONNECTED')
    assert.deepEqual(connected.serviceEventDetails, {
      customKeyStoreId: xksStore.id,
      connectionState: 'CONNECTED',
    })
    assert.deepEqual(connected.resources, [])
  })

  it('GetKeyLastUsage names the trail event of the last use (CloudTrailEventId)', async () => {
    const out = await clients
      .kms(s.kw.endpoint)
      .send(new GetKeyLastUsageCommand({ KeyId: key.KeyId }))
    const use = out.KeyLastUsage!
    const event = all.find((r) => r.requestID === use.KmsRequestId)!
    assert.equal(event.eventName, use.Operation)
    assert.equal(use.CloudTrailEventId, event.eventID)
  })

  it('userIdentity of an assumed-role session carries its session issuer', () => {
    assert.deepEqual(
      userIdentityOf({
        accountId: ACCOUNT,
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci-run`,
        principalType: 'assumed-role',
        userId: 'AROAEXAMPLEROLEID0001:ci-run',
        roleArn: `arn:aws:iam::${ACCOUNT}:role/deployer`,
        sessionName: 'ci-run',
        accessKeyId: 'ASIAEXAMPLESESSION01',
      }),
      {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLEROLEID0001:ci-run',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci-run`,
        accountId: ACCOUNT,
        accessKeyId: 'ASIAEXAMPLESESSION01',
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: 'AROAEXAMPLEROLEID0001',
            arn: `arn:aws:iam::${ACCOUNT}:role/deployer`,
            accountId: ACCOUNT,
            userName: 'deployer',
          },
          attributes: { mfaAuthenticated: 'false' },
        },
      },
    )
  })
})
