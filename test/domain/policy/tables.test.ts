/** The permission and condition-key tables (kms-authz.md §2, §4) against the operation list. */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import {
  CROSS_ACCOUNT_ACTIONS,
  IAM_ONLY_ACTIONS,
  OPERATION_PERMISSIONS,
  conditionKeyInfo,
  conditionKeysFor,
} from '../../../src/domain/policy/tables.js'

const model = JSON.parse(readFileSync('model/kms-ops.json', 'utf8')) as Record<string, unknown>
const operations = Object.keys((model.operations ?? model) as object)

describe('permission table', () => {
  it('covers every operation of the model, and nothing else', () => {
    assert.equal(operations.length, 54)
    assert.deepEqual(Object.keys(OPERATION_PERMISSIONS).sort(), [...operations].sort())
  })

  it('IAM-only actions (§2 "No key" and RetireGrant)', () => {
    for (const a of [
      'kms:createkey',
      'kms:listkeys',
      'kms:listaliases',
      'kms:generaterandom',
      'kms:listretirablegrants',
      'kms:retiregrant',
      'kms:createcustomkeystore',
    ]) {
      assert.ok(IAM_ONLY_ACTIONS.has(a), a)
    }
    for (const a of [
      'kms:encrypt',
      'kms:putkeypolicy',
      'kms:createalias',
      'kms:creategrant',
      'kms:tagresource',
    ]) {
      assert.ok(!IAM_ONLY_ACTIONS.has(a), a)
    }
  })

  it('cross-account actions (§2 "X")', () => {
    for (const a of [
      'kms:encrypt',
      'kms:decrypt',
      'kms:reencryptfrom',
      'kms:reencryptto',
      'kms:describekey',
      'kms:creategrant',
      'kms:listgrants',
      'kms:revokegrant',
      'kms:getpublickey',
      'kms:getkeyrotationstatus',
    ]) {
      assert.ok(CROSS_ACCOUNT_ACTIONS.has(a), a)
    }
    for (const a of [
      'kms:schedulekeydeletion',
      'kms:putkeypolicy',
      'kms:tagresource',
      'kms:createalias',
      'kms:enablekey',
    ]) {
      assert.ok(!CROSS_ACCOUNT_ACTIONS.has(a), a)
    }
  })

  it('ReEncrypt checks ReEncryptFrom on the source and ReEncryptTo on the destination', () => {
    assert.deepEqual(
      OPERATION_PERMISSIONS.ReEncrypt!.map((c) => [c.action, c.on]),
      [
        ['kms:ReEncryptFrom', 'sourceKey'],
        ['kms:ReEncryptTo', 'destinationKey'],
      ],
    )
  })

  it('UpdateAlias checks the alias, the current key and the new key', () => {
    assert.deepEqual(
      OPERATION_PERMISSIONS.UpdateAlias!.map((c) => c.on),
      ['alias', 'key', 'targetKey'],
    )
  })
})

describe('condition key table', () => {
  it('prefix keys resolve, in any case', () => {
    assert.equal(conditionKeyInfo('kms:EncryptionContext:Department')?.multiValued, false)
    assert.equal(conditionKeyInfo('AWS:ResourceTag/Project')?.inKeyPolicy, false)
    assert.equal(conditionKeyInfo('kms:EncryptionContextKeys')?.multiValued, true)
    assert.equal(conditionKeyInfo('kms:RecipientAttestation:PCR0')?.type, 'String')
    assert.equal(conditionKeyInfo('s3:prefix'), undefined)
  })

  const ROWS: Array<[op: string, has: string[], lacks: string[]]> = [
    [
      'Encrypt',
      [
        'kms:encryptioncontext:',
        'kms:encryptioncontextkeys',
        'kms:encryptionalgorithm',
        'kms:calleraccount',
        'kms:requestalias',
        'aws:resourcetag/',
        'kms:resourcealiases',
      ],
      ['kms:grantoperations', 'aws:requesttag/'],
    ],
    [
      'CreateGrant',
      [
        'kms:grantoperations',
        'kms:granteeprincipal',
        'kms:grantisforawsresource',
        'kms:encryptioncontext:',
      ],
      ['kms:requestalias'],
    ],
    [
      'ListKeys',
      ['aws:principalarn', 'aws:sourceip'],
      ['kms:calleraccount', 'kms:keyspec', 'aws:resourcetag/'],
    ],
    [
      'CreateKey',
      [
        'kms:keyspec',
        'kms:keyusage',
        'kms:bypasspolicylockoutsafetycheck',
        'aws:requesttag/',
        'aws:tagkeys',
      ],
      ['kms:calleraccount', 'kms:resourcealiases'],
    ],
    [
      'PutKeyPolicy',
      ['kms:bypasspolicylockoutsafetycheck', 'kms:calleraccount'],
      ['kms:encryptioncontextkeys'],
    ],
    [
      'ScheduleKeyDeletion',
      ['kms:schedulekeydeletionpendingwindowindays', 'kms:trailingdayswithoutkeyusage'],
      [],
    ],
    ['TagResource', ['aws:requesttag/', 'aws:tagkeys', 'aws:resourcetag/'], []],
    ['Sign', ['kms:signingalgorithm', 'kms:messagetype'], ['kms:encryptionalgorithm']],
    ['ConnectCustomKeyStore', ['kms:calleraccount'], ['kms:keyspec']],
  ]
  for (const [op, has, lacks] of ROWS) {
    it(`${op} supplies ${has.length} listed keys and lacks ${lacks.length}`, () => {
      const keys = conditionKeysFor(op)
      for (const k of has) assert.ok(keys.includes(k), `${op} should supply ${k}`)
      for (const k of lacks) assert.ok(!keys.includes(k), `${op} should not supply ${k}`)
    })
  }
})
