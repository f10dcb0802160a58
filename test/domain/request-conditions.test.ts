/**
 * The condition keys a request supplies: each only by the operations AWS documents for it
 * (kms-authz.md §4), so that `Null` and `…IfExists` see an absent key as AWS does.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { KeyRecord } from '../../src/domain/key.js'
import { requestConditions } from '../../src/domain/request-conditions.js'

const KEY = {
  arn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  keySpec: 'SYMMETRIC_DEFAULT',
  keyUsage: 'ENCRYPT_DECRYPT',
  origin: 'AWS_KMS',
  multiRegion: false,
  tags: [{ TagKey: 'Project', TagValue: 'Alpha' }],
} as unknown as KeyRecord
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 678)
const base = { region: 'us-east-1', now: NOW }

describe('requestConditions', () => {
  it('Encrypt: context, algorithm, request alias, key properties, tags and time', () => {
    const out = requestConditions({
      ...base,
      operation: 'Encrypt',
      key: KEY,
      aliases: ['alias/finance-key'],
      input: {
        KeyId: 'arn:aws:kms:us-east-1:111122223333:alias/finance-key',
        EncryptionContext: { AppName: 'ExampleApp' },
      },
    })
    assert.deepEqual(out, {
      'kms:EncryptionContextKeys': ['AppName'],
      'kms:EncryptionContext:AppName': 'ExampleApp',
      'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT',
      'kms:RequestAlias': 'alias/finance-key',
      'kms:KeySpec': 'SYMMETRIC_DEFAULT',
      'kms:KeyUsage': 'ENCRYPT_DECRYPT',
      'kms:KeyOrigin': 'AWS_KMS',
      'kms:MultiRegion': false,
      'aws:ResourceTag/Project': 'Alpha',
      'kms:ResourceAliases': ['alias/finance-key'],
      'aws:CurrentTime': '2026-01-02T03:04:05Z',
      'aws:EpochTime': Math.floor(NOW / 1000),
      'aws:RequestedRegion': 'us-east-1',
      'aws:ViaAWSService': false,
    })
  })

  it("multi-Region keys: the key's current role, and the Regions of ReplicateKey and UpdatePrimaryRegion", () => {
    const replica = {
      ...KEY,
      multiRegion: true,
      multiRegionConfiguration: {
        keyType: 'REPLICA',
        primaryRegion: 'us-east-1',
        replicaRegions: ['eu-west-1'],
      },
    } as unknown as KeyRecord
    const onReplica = requestConditions({ ...base, operation: 'Encrypt', key: replica, input: {} })
    assert.equal(onReplica['kms:MultiRegion'], true)
    assert.equal(onReplica['kms:MultiRegionKeyType'], 'REPLICA')
    assert.equal(
      requestConditions({ ...base, operation: 'Encrypt', key: KEY, input: {} })[
        'kms:MultiRegionKeyType'
      ],
      undefined,
    )
    const replicate = requestConditions({
      ...base,
      operation: 'ReplicateKey',
      key: replica,
      input: { KeyId: 'mrk-1', ReplicaRegion: 'eu-west-3' },
    })
    assert.equal(replicate['kms:ReplicaRegion'], 'eu-west-3')
    assert.equal(replicate['kms:PrimaryRegion'], undefined)
    const update = requestConditions({
      ...base,
      operation: 'UpdatePrimaryRegion',
      key: replica,
      input: { KeyId: 'mrk-1', PrimaryRegion: 'eu-west-1' },
    })
    assert.equal(update['kms:PrimaryRegion'], 'eu-west-1')
    assert.equal(update['kms:ReplicaRegion'], undefined)
    const create = requestConditions({
      ...base,
      operation: 'CreateKey',
      input: { MultiRegion: true },
    })
    assert.equal(create['kms:MultiRegion'], true)
    assert.equal(create['kms:MultiRegionKeyType'], 'PRIMARY')
  })

  it('a key ID names no alias, and DescribeKey supplies no encryption context', () => {
    const out = requestConditions({
      ...base,
      operation: 'DescribeKey',
      key: KEY,
      input: { KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', EncryptionContext: { A: 'b' } },
    })
    assert.equal(out['kms:RequestAlias'], undefined)
    assert.equal(out['kms:EncryptionContextKeys'], undefined)
    assert.equal(out['kms:EncryptionAlgorithm'], undefined)
  })

  it('ReEncrypt: each side reads its own context and algorithm', () => {
    const input = {
      SourceEncryptionContext: { Side: 'from' },
      DestinationEncryptionContext: { Side: 'to' },
      DestinationKeyId: 'alias/dest',
    }
    const from = requestConditions({
      ...base,
      operation: 'ReEncrypt',
      key: KEY,
      role: 'source',
      input,
    })
    const to = requestConditions({
      ...base,
      operation: 'ReEncrypt',
      key: KEY,
      role: 'destination',
      input,
    })
    assert.equal(from['kms:EncryptionContext:Side'], 'from')
    assert.equal(to['kms:EncryptionContext:Side'], 'to')
    assert.equal(from['kms:RequestAlias'], undefined)
    assert.equal(to['kms:RequestAlias'], 'alias/dest')
  })

  it('CreateKey supplies the key it asks for and its request tags, no resource keys', () => {
    const out = requestConditions({
      ...base,
      operation: 'CreateKey',
      input: {
        KeySpec: 'RSA_2048',
        KeyUsage: 'SIGN_VERIFY',
        Tags: [{ TagKey: 'Env', TagValue: 'prod' }],
      },
    })
    assert.equal(out['kms:KeySpec'], 'RSA_2048')
    assert.equal(out['kms:KeyUsage'], 'SIGN_VERIFY')
    assert.equal(out['aws:RequestTag/Env'], 'prod')
    assert.deepEqual(out['aws:TagKeys'], ['Env'])
    assert.equal(out['kms:BypassPolicyLockoutSafetyCheck'], false)
    assert.equal(out['aws:ResourceTag/Project'], undefined)
  })

  it('Encrypt supplies no request tags even when its input has some', () => {
    const out = requestConditions({
      ...base,
      operation: 'Encrypt',
      key: KEY,
      input: { Tags: [{ TagKey: 'Env', TagValue: 'prod' }] },
    })
    assert.equal(out['aws:RequestTag/Env'], undefined)
    assert.equal(out['aws:TagKeys'], undefined)
  })

  it('the front door supplies aws:SourceIp, aws:SecureTransport and aws:UserAgent', () => {
    const out = requestConditions({
      ...base,
      operation: 'ListKeys',
      input: {},
      origin: { sourceIp: '192.0.2.7', secureTransport: false, userAgent: 'aws-cli/2.9.19' },
    })
    assert.equal(out['aws:SourceIp'], '192.0.2.7')
    assert.equal(out['aws:SecureTransport'], false)
    assert.equal(out['aws:UserAgent'], 'aws-cli/2.9.19')
    // No AWS service calls Keyward for a caller.
    assert.equal(out['aws:ViaAWSService'], false)
    const bare = requestConditions({ ...base, operation: 'ListKeys', input: {} })
    assert.equal('aws:UserAgent' in bare, false)
  })
})
