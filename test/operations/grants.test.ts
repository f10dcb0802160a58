import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  ListGrantsCommand,
  ListRetirableGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  type CreateGrantCommandInput,
  type CreateKeyCommandInput,
  type KMSClient,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import type { Caller } from '../../src/domain/caller.js'
import { DEFAULT_RESOURCE_QUOTAS } from '../../src/domain/quotas.js'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { AWS_MESSAGES } from '../support/aws-messages.js'
import { OTHER, OTHER_ACCOUNT, startKeyward, type TestServer } from '../support/keyward-server.js'

const ACCOUNT = '111122223333'
const ADMIN_ARN = `arn:aws:iam::${ACCOUNT}:user/admin`
const OTHER_ADMIN_ARN = `arn:aws:iam::${OTHER_ACCOUNT}:user/admin`
const BOB_ARN = `arn:aws:iam::${ACCOUNT}:user/bob`
const CAROL_ARN = `arn:aws:iam::${ACCOUNT}:user/carol`
const APP_ROLE = `arn:aws:iam::${ACCOUNT}:role/app`

/** Users with no identity policy at all (`policies: []`): they hold only what grants give. */
const BOB = {
  accessKeyId: 'AKIABOBTESTKEY000003',
  secretAccessKey: 'bob-secret-for-tests-only-00000000000003',
}
const CAROL = {
  accessKeyId: 'AKIACAROLTESTKEY0004',
  secretAccessKey: 'carol-secret-for-tests-only-000000000004',
}
const noPolicies = (arn: string) =>
  ({ accountId: ACCOUNT, arn, identityPolicies: [] }) as unknown as Caller

const INVALID_TOKEN = 'The grant token is not valid.'
const GRANT_ID = /^[0-9a-f]{64}$/

describe('Grants', () => {
  let kw: TestServer
  let kms: KMSClient
  let bob: KMSClient
  let carol: KMSClient
  let other: KMSClient
  let key: KeyMetadata

  const newKey = async (input: CreateKeyCommandInput = {}) =>
    (await kms.send(new CreateKeyCommand(input))).KeyMetadata!
  const grant = (input: Partial<CreateGrantCommandInput> = {}) =>
    kms.send(
      new CreateGrantCommand({
        KeyId: key.KeyId,
        GranteePrincipal: APP_ROLE,
        Operations: ['Encrypt', 'Decrypt'],
        ...input,
      }),
    )
  const grantIds = async (keyId: string) =>
    (await kms.send(new ListGrantsCommand({ KeyId: keyId, Limit: 100 }))).Grants!.map(
      (g) => g.GrantId,
    )

  before(async () => {
    kw = await startKeyward({
      principals: [
        { credentials: BOB, caller: noPolicies(BOB_ARN) },
        { credentials: CAROL, caller: noPolicies(CAROL_ARN) },
      ],
    })
    kms = kw.client()
    bob = kw.client({ credentials: BOB })
    carol = kw.client({ credentials: CAROL })
    other = kw.client({ credentials: OTHER })
    key = await newKey()
  })
  after(() => kw.close())

  describe('CreateGrant', () => {
    it('creates a grant and lists it with every GrantListEntry field', async () => {
      const k = await newKey()
      const before = Date.now()
      const out = await kms.send(
        new CreateGrantCommand({
          KeyId: k.Arn,
          GranteePrincipal: APP_ROLE,
          RetiringPrincipal: CAROL_ARN,
          Operations: ['Decrypt', 'GenerateDataKey', 'Decrypt'],
          Constraints: { EncryptionContextSubset: { Department: 'IT' } },
          Name: 'app-decrypt',
        }),
      )
      assert.match(out.GrantId!, GRANT_ID)
      assert.ok(out.GrantToken && out.GrantToken.length > 0)
      const { Grants, Truncated } = await kms.send(new ListGrantsCommand({ KeyId: k.KeyId }))
      assert.equal(Truncated, false)
      assert.equal(Grants!.length, 1)
      const entry = Grants![0]!
      assert.ok(entry.CreationDate!.getTime() >= before - 1000)
      assert.deepEqual(
        { ...entry, CreationDate: undefined },
        {
          KeyId: k.Arn,
          GrantId: out.GrantId,
          Name: 'app-decrypt',
          CreationDate: undefined,
          GranteePrincipal: APP_ROLE,
          RetiringPrincipal: CAROL_ARN,
          IssuingAccount: `arn:aws:iam::${ACCOUNT}:root`,
          Operations: ['Decrypt', 'GenerateDataKey'],
          Constraints: { EncryptionContextSubset: { Department: 'IT' } },
        },
      )
    })

    it('answers the same GrantId with a new token for a retry with the same Name and parameters', async () => {
      const k = await newKey()
      const input = {
        KeyId: k.KeyId,
        GranteePrincipal: APP_ROLE,
        Operations: ['Encrypt' as const, 'Decrypt' as const],
        Name: 'retry-me',
      }
      const first = await kms.send(new CreateGrantCommand(input))
      const again = await kms.send(
        new CreateGrantCommand({ ...input, Operations: ['Decrypt', 'Encrypt'] }),
      )
      assert.equal(again.GrantId, first.GrantId)
      assert.notEqual(again.GrantToken, first.GrantToken)
      // Other parameters under the same Name make another grant; no Name, always a new one.
      const changed = await kms.send(new CreateGrantCommand({ ...input, Operations: ['Decrypt'] }))
      assert.notEqual(changed.GrantId, first.GrantId)
      const { Name: _n, ...unnamed } = input
      const a = await kms.send(new CreateGrantCommand(unnamed))
      const b = await kms.send(new CreateGrantCommand(unnamed))
      assert.notEqual(a.GrantId, b.GrantId)
      assert.equal((await grantIds(k.KeyId!)).length, 4)
      // The same Name on another key is another grant (LocalStack's AWS-validated test).
      const k2 = await newKey()
      const onOther = await kms.send(new CreateGrantCommand({ ...input, KeyId: k2.KeyId }))
      assert.notEqual(onOther.GrantId, first.GrantId)
    })

    it('accepts every principal form a grant can name, in any account', async () => {
      for (const principal of [
        `arn:aws:iam::${OTHER_ACCOUNT}:root`,
        `arn:aws:iam::${ACCOUNT}:user/path/to/dave`,
        `arn:aws:iam::${OTHER_ACCOUNT}:role/service-role/x`,
        `arn:aws:sts::${ACCOUNT}:assumed-role/app/session-1`,
        `arn:aws:sts::${ACCOUNT}:federated-user/eve`,
      ]) {
        const out = await grant({ GranteePrincipal: principal, RetiringPrincipal: principal })
        assert.match(out.GrantId!, GRANT_ID)
      }
    })

    it('refuses principals a grant cannot name with InvalidArnException', async () => {
      for (const principal of [
        `arn:aws:iam::${ACCOUNT}:group/ops`,
        ACCOUNT,
        'arn:aws:iam::12345:root',
        'kms.amazonaws.com',
        `arn:aws:kms:us-east-1:${ACCOUNT}:key/${'1'.repeat(8)}`,
      ]) {
        await expectKmsError(
          grant({ GranteePrincipal: principal }),
          'InvalidArnException',
          `GranteePrincipal ${principal} is not a valid principal ARN.`,
        )
      }
      await expectKmsError(
        grant({ RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:group/ops` }),
        'InvalidArnException',
        `RetiringPrincipal arn:aws:iam::${ACCOUNT}:group/ops is not a valid principal ARN.`,
      )
      await expectKmsError(
        grant({ GranteePrincipal: undefined }),
        'ValidationException',
        "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null",
      )
    })

    it('refuses grants to service principals, which no AWS service would ever use here', async () => {
      await expectKmsError(
        grant({ GranteePrincipal: undefined, GranteeServicePrincipal: 'ec2.amazonaws.com' }),
        'ValidationException',
        'Keyward does not support grants to AWS service principals: no AWS service calls it.',
      )
      await expectKmsError(
        grant({
          Constraints: { SourceArn: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-1234567890` },
        }),
        'ValidationException',
        'Keyward does not support the SourceArn grant constraint: it applies only to AWS service principals.',
      )
    })

    it('refuses an alias, an unknown key and a key of another Region as AWS does', async () => {
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/granted', TargetKeyId: key.KeyId }))
      for (const keyId of ['alias/granted', `arn:aws:kms:us-east-1:${ACCOUNT}:alias/granted`]) {
        await expectKmsError(
          grant({ KeyId: keyId }),
          'InvalidArnException',
          'Key Aliases are not supported for this operation.',
        )
      }
      await expectKmsError(
        grant({ KeyId: 'invalid' }),
        'NotFoundException',
        "Invalid keyId 'invalid'",
      )
      const unknown = `arn:aws:kms:us-east-1:${ACCOUNT}:key/00000000-0000-4000-8000-000000000000`
      await expectKmsError(
        grant({ KeyId: unknown }),
        'NotFoundException',
        `Key '${unknown}' does not exist`,
      )
    })

    it('checks the operations: not empty, not CreateGrant alone, each supported by the key', async () => {
      await expectKmsError(
        grant({ Operations: ['CreateGrant'] }),
        'ValidationException',
        'Grants must not contain only the CreateGrant operation.',
      )
      await expectKmsError(
        grant({ Operations: [] }),
        'ValidationException',
        "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
      )
      await expectKmsError(
        grant({ Operations: ['Encrypt', 'Sign', 'GenerateMac'] }),
        'ValidationException',
        `Grant operations [Sign, GenerateMac] are not valid for ${key.Arn}, a key with KeySpec SYMMETRIC_DEFAULT and KeyUsage ENCRYPT_DECRYPT.`,
      )
      const signing = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })
      await expectKmsError(
        grant({ KeyId: signing.KeyId, Operations: ['Sign', 'GenerateDataKey'] }),
        'ValidationException',
        `Grant operations [GenerateDataKey] are not valid for ${signing.Arn}, a key with KeySpec ECC_NIST_P256 and KeyUsage SIGN_VERIFY.`,
      )
      const ok = await grant({
        KeyId: signing.KeyId,
        Operations: ['Sign', 'Verify', 'GetPublicKey', 'DescribeKey', 'CreateGrant', 'RetireGrant'],
      })
      assert.match(ok.GrantId!, GRANT_ID)
    })

    it('checks encryption context constraints: one kind, 8 pairs, 384 characters, symmetric keys only', async () => {
      await expectKmsError(
        grant({
          Constraints: { EncryptionContextEquals: { a: '1' }, EncryptionContextSubset: { a: '1' } },
        }),
        'ValidationException',
        'Grant constraints may contain EncryptionContextEquals or EncryptionContextSubset, not both.',
      )
      const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']))
      await expectKmsError(
        grant({ Constraints: { EncryptionContextEquals: nine } }),
        'ValidationException',
        'A grant constraint may contain at most 8 encryption context pairs.',
      )
      await expectKmsError(
        grant({ Constraints: { EncryptionContextSubset: { k: 'v'.repeat(385) } } }),
        'ValidationException',
        'Encryption context values in a grant constraint must be at most 384 characters.',
      )
      await expectKmsError(
        grant({
          Operations: ['DescribeKey'],
          Constraints: { EncryptionContextEquals: { a: '1' } },
        }),
        'ValidationException',
        'Encryption context grant constraints need at least one grant operation that takes an encryption context.',
      )
      const hmac = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })
      await expectKmsError(
        grant({
          KeyId: hmac.KeyId,
          Operations: ['GenerateMac'],
          Constraints: { EncryptionContextEquals: { a: '1' } },
        }),
        'ValidationException',
        `Encryption context grant constraints are valid only for symmetric encryption keys; ${hmac.Arn} has KeySpec HMAC_256.`,
      )
      const eight = Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [`k${i}`, 'v'.repeat(384)]),
      )
      const out = await grant({ Constraints: { EncryptionContextEquals: eight } })
      const listed = await kms.send(
        new ListGrantsCommand({ KeyId: key.KeyId, GrantId: out.GrantId }),
      )
      assert.deepEqual(listed.Grants![0]!.Constraints, { EncryptionContextEquals: eight })
    })

    it('follows the key state table: disabled and pending deletion keys take no grants', async () => {
      const disabled = await newKey()
      await kms.send(new DisableKeyCommand({ KeyId: disabled.KeyId }))
      await expectKmsError(
        grant({ KeyId: disabled.KeyId }),
        'DisabledException',
        `${disabled.Arn} is disabled.`,
      )
      const pending = await newKey()
      await kms.send(
        new ScheduleKeyDeletionCommand({ KeyId: pending.KeyId, PendingWindowInDays: 7 }),
      )
      await expectKmsError(
        grant({ KeyId: pending.KeyId }),
        'KMSInvalidStateException',
        `${pending.Arn} is pending deletion.`,
      )
      const imported = await newKey({ Origin: 'EXTERNAL' })
      await expectKmsError(
        grant({ KeyId: imported.KeyId }),
        'KMSInvalidStateException',
        `${imported.Arn} is pending import.`,
      )
      assert.deepEqual(await grantIds(disabled.KeyId!), [])
    })

    it('takes GrantTokens it issued, refuses others, and honours DryRun after every check', async () => {
      const k = await newKey()
      const first = await grant({ KeyId: k.KeyId })
      const second = await grant({ KeyId: k.KeyId, GrantTokens: [first.GrantToken!] })
      assert.match(second.GrantId!, GRANT_ID)
      const altered =
        first.GrantToken!.slice(0, -2) + (first.GrantToken!.endsWith('AA') ? 'BA' : 'AA')
      for (const token of ['not-a-token', altered, first.GrantToken! + 'A']) {
        await expectKmsError(
          grant({ KeyId: k.KeyId, GrantTokens: [first.GrantToken!, token] }),
          'InvalidGrantTokenException',
          INVALID_TOKEN,
        )
      }
      await expectKmsError(
        grant({ KeyId: k.KeyId, Operations: ['CreateGrant'], DryRun: true }),
        'ValidationException',
        'Grants must not contain only the CreateGrant operation.',
      )
      await expectKmsError(
        grant({ KeyId: k.KeyId, DryRun: true }),
        'DryRunOperationException',
        AWS_MESSAGES.dryRun,
      )
      assert.deepEqual((await grantIds(k.KeyId!)).sort(), [first.GrantId, second.GrantId].sort())
    })
  })

  describe('GrantTokens of other operations', () => {
    it('lets Encrypt, Decrypt and DescribeKey carry a token at once; refuses a token not issued here', async () => {
      const g = await grant({ GranteePrincipal: BOB_ARN })
      const sealed = await kms.send(
        new EncryptCommand({
          KeyId: key.KeyId,
          Plaintext: Buffer.from('hi'),
          GrantTokens: [g.GrantToken!],
        }),
      )
      const opened = await kms.send(
        new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, GrantTokens: [g.GrantToken!] }),
      )
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'hi')
      await expectKmsError(
        kms.send(
          new EncryptCommand({
            KeyId: key.KeyId,
            Plaintext: Buffer.from('hi'),
            GrantTokens: [g.GrantToken!, 'forged'],
          }),
        ),
        'InvalidGrantTokenException',
        INVALID_TOKEN,
      )
      await expectKmsError(
        kms.send(new DescribeKeyCommand({ KeyId: key.KeyId, GrantTokens: ['A'.repeat(108)] })),
        'InvalidGrantTokenException',
        INVALID_TOKEN,
      )
    })
  })

  describe('ListGrants', () => {
    let k: KeyMetadata
    let ids: string[]
    before(async () => {
      k = await newKey()
      ids = []
      for (let i = 0; i < 5; i++) {
        const grantee = i % 2 === 0 ? BOB_ARN : CAROL_ARN
        ids.push((await grant({ KeyId: k.KeyId, GranteePrincipal: grantee })).GrantId!)
      }
      ids.sort()
    })

    it('walks five grants two at a time with no duplicate or omission', async () => {
      const seen: string[] = []
      const truncations: boolean[] = []
      let marker: string | undefined
      do {
        const page = await kms.send(
          new ListGrantsCommand({ KeyId: k.Arn, Limit: 2, Marker: marker }),
        )
        seen.push(...page.Grants!.map((g) => g.GrantId!))
        truncations.push(page.Truncated!)
        assert.equal(page.NextMarker === undefined, !page.Truncated)
        marker = page.NextMarker
      } while (marker)
      assert.deepEqual(truncations, [true, true, false])
      assert.deepEqual(seen, ids)
    })

    it('filters by GrantId and by GranteePrincipal', async () => {
      const one = await kms.send(new ListGrantsCommand({ KeyId: k.KeyId, GrantId: ids[3] }))
      assert.deepEqual(
        one.Grants!.map((g) => g.GrantId),
        [ids[3]],
      )
      const none = await kms.send(
        new ListGrantsCommand({ KeyId: k.KeyId, GrantId: 'f'.repeat(64) }),
      )
      assert.deepEqual(none.Grants, [])
      const bobs = await kms.send(
        new ListGrantsCommand({ KeyId: k.KeyId, GranteePrincipal: BOB_ARN }),
      )
      assert.equal(bobs.Grants!.length, 3)
      assert.ok(bobs.Grants!.every((g) => g.GranteePrincipal === BOB_ARN))
    })

    it('answers AWS errors for a bad GrantId, Limit, Marker or key', async () => {
      await expectKmsError(
        kms.send(new ListGrantsCommand({ KeyId: k.KeyId, GrantId: 'abc' })),
        'InvalidGrantIdException',
        "Invalid grantId 'abc'",
      )
      await expectKmsError(
        kms.send(new ListGrantsCommand({ KeyId: k.KeyId, Limit: 101 })),
        'ValidationException',
        "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100",
      )
      await expectKmsError(
        kms.send(new ListGrantsCommand({ KeyId: k.KeyId, Marker: 'bogus' })),
        'InvalidMarkerException',
        'The request was rejected because the marker that specifies where pagination should next begin is not valid.',
      )
      await expectKmsError(
        kms.send(new ListGrantsCommand({ KeyId: 'invalid' })),
        'NotFoundException',
        "Invalid keyId 'invalid'",
      )
      await expectKmsError(
        kms.send(new ListGrantsCommand({ KeyId: 'alias/granted' })),
        'InvalidArnException',
        'Key Aliases are not supported for this operation.',
      )
    })

    it('works on every kind of key in every state (Ansible lists the grants of each key)', async () => {
      const kinds: CreateKeyCommandInput[] = [
        {},
        { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' },
        { KeySpec: 'RSA_3072', KeyUsage: 'SIGN_VERIFY' },
        { KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY' },
        { KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' },
        { KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' },
        { KeySpec: 'HMAC_512', KeyUsage: 'GENERATE_VERIFY_MAC' },
        { KeySpec: 'ML_DSA_44', KeyUsage: 'SIGN_VERIFY' },
        { Origin: 'EXTERNAL' },
      ]
      for (const kind of kinds) {
        const made = await newKey(kind)
        const out = await kms.send(new ListGrantsCommand({ KeyId: made.KeyId }))
        assert.deepEqual([out.Grants, out.Truncated], [[], false], JSON.stringify(kind))
      }
      const disabled = await newKey()
      await kms.send(new DisableKeyCommand({ KeyId: disabled.KeyId }))
      const pending = await newKey()
      await kms.send(
        new ScheduleKeyDeletionCommand({ KeyId: pending.KeyId, PendingWindowInDays: 7 }),
      )
      for (const made of [disabled, pending]) {
        assert.deepEqual((await kms.send(new ListGrantsCommand({ KeyId: made.Arn }))).Grants, [])
      }
    })
  })

  describe('ListRetirableGrants', () => {
    it('lists the grants that name a retiring principal, on every key, page by page', async () => {
      const retirer = `arn:aws:iam::${ACCOUNT}:role/retirer`
      const made: string[] = []
      for (const k of [await newKey(), await newKey(), await newKey()]) {
        made.push((await grant({ KeyId: k.KeyId, RetiringPrincipal: retirer })).GrantId!)
      }
      await grant({ RetiringPrincipal: CAROL_ARN })
      made.sort()
      const first = await kms.send(
        new ListRetirableGrantsCommand({ RetiringPrincipal: retirer, Limit: 2 }),
      )
      assert.equal(first.Truncated, true)
      const rest = await kms.send(
        new ListRetirableGrantsCommand({ RetiringPrincipal: retirer, Marker: first.NextMarker }),
      )
      assert.equal(rest.Truncated, false)
      assert.deepEqual(
        [...first.Grants!, ...rest.Grants!].map((g) => g.GrantId),
        made,
      )
      assert.ok(first.Grants!.every((g) => g.RetiringPrincipal === retirer))
    })

    it('refuses a principal of another account, a malformed one, and none', async () => {
      await expectKmsError(
        kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: OTHER_ADMIN_ARN })),
        'AccessDeniedException',
        `User: ${ADMIN_ARN} is not authorized to perform: kms:ListRetirableGrants on resource: * because no identity-based policy allows the kms:ListRetirableGrants action`,
      )
      await expectKmsError(
        kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: 'bob' })),
        'InvalidArnException',
        'RetiringPrincipal bob is not a valid principal ARN.',
      )
      await expectKmsError(
        kms.send(new ListRetirableGrantsCommand({})),
        'ValidationException',
        "1 validation error detected: Value null at 'retiringPrincipal' failed to satisfy constraint: Member must not be null",
      )
    })
  })

  describe('RetireGrant', () => {
    it('lets the retiring principal retire by token, at once', async () => {
      const k = await newKey()
      const g = await grant({
        KeyId: k.KeyId,
        GranteePrincipal: BOB_ARN,
        RetiringPrincipal: CAROL_ARN,
      })
      await carol.send(new RetireGrantCommand({ GrantToken: g.GrantToken }))
      assert.deepEqual(await grantIds(k.KeyId!), [])
      await expectKmsError(
        carol.send(new RetireGrantCommand({ GrantToken: g.GrantToken })),
        'NotFoundException',
        `Grant ${g.GrantId} does not exist`,
      )
    })

    it('refuses the grantee unless the grant includes RetireGrant', async () => {
      const k = await newKey()
      const g = await grant({
        KeyId: k.KeyId,
        GranteePrincipal: BOB_ARN,
        RetiringPrincipal: CAROL_ARN,
      })
      await expectKmsError(
        bob.send(new RetireGrantCommand({ GrantToken: g.GrantToken })),
        'AccessDeniedException',
        `User: ${BOB_ARN} is not authorized to perform: kms:RetireGrant on resource: ${k.Arn} because no identity-based policy allows the kms:RetireGrant action`,
      )
      assert.deepEqual(await grantIds(k.KeyId!), [g.GrantId])
      const own = await grant({
        KeyId: k.KeyId,
        GranteePrincipal: BOB_ARN,
        Operations: ['Decrypt', 'RetireGrant'],
      })
      await bob.send(new RetireGrantCommand({ KeyId: k.Arn, GrantId: own.GrantId }))
      assert.deepEqual(await grantIds(k.KeyId!), [g.GrantId])
    })

    it('lets the key account retire by KeyId and GrantId; refuses an unrelated account', async () => {
      const k = await newKey()
      const g = await grant({ KeyId: k.KeyId, GranteePrincipal: BOB_ARN })
      await expectKmsError(
        other.send(new RetireGrantCommand({ GrantToken: g.GrantToken })),
        'AccessDeniedException',
        `User: ${OTHER_ADMIN_ARN} is not authorized to perform: kms:RetireGrant on resource: ${k.Arn} because no identity-based policy allows the kms:RetireGrant action`,
      )
      await kms.send(new RetireGrantCommand({ KeyId: k.KeyId, GrantId: g.GrantId }))
      assert.deepEqual(await grantIds(k.KeyId!), [])
    })

    it('lets a retiring principal of another account retire', async () => {
      const k = await newKey()
      const g = await grant({ KeyId: k.KeyId, RetiringPrincipal: OTHER_ADMIN_ARN })
      await other.send(new RetireGrantCommand({ GrantToken: g.GrantToken }))
      assert.deepEqual(await grantIds(k.KeyId!), [])
    })

    it('answers AWS errors for bad tokens, ids and keys, and changes nothing', async () => {
      const k = await newKey()
      const g = await grant({ KeyId: k.KeyId })
      const elsewhere = await newKey()
      await expectKmsError(
        kms.send(new RetireGrantCommand({ GrantToken: 'x'.repeat(108) })),
        'InvalidGrantTokenException',
        INVALID_TOKEN,
      )
      await expectKmsError(
        kms.send(new RetireGrantCommand({ GrantToken: g.GrantToken, GrantId: 'f'.repeat(64) })),
        'InvalidGrantIdException',
        'The GrantId does not match the grant that the GrantToken names.',
      )
      await expectKmsError(
        kms.send(new RetireGrantCommand({ KeyId: k.KeyId, GrantId: 'nope' })),
        'InvalidGrantIdException',
        "Invalid grantId 'nope'",
      )
      await expectKmsError(
        kms.send(new RetireGrantCommand({ KeyId: elsewhere.KeyId, GrantId: g.GrantId })),
        'NotFoundException',
        `Grant ${g.GrantId} does not exist`,
      )
      await expectKmsError(
        kms.send(new RetireGrantCommand({ KeyId: 'alias/granted', GrantId: g.GrantId })),
        'InvalidArnException',
        'Key Aliases are not supported for this operation.',
      )
      await expectKmsError(
        kms.send(new RetireGrantCommand({ GrantId: g.GrantId })),
        'ValidationException',
        'Specify the GrantToken, or the KeyId and the GrantId, of the grant to retire.',
      )
      await expectKmsError(
        kms.send(new RetireGrantCommand({ GrantToken: g.GrantToken, DryRun: true })),
        'DryRunOperationException',
        AWS_MESSAGES.dryRun,
      )
      assert.deepEqual(await grantIds(k.KeyId!), [g.GrantId])
    })
  })

  describe('RevokeGrant', () => {
    it('revokes a grant by KeyId and GrantId; a second revoke finds nothing', async () => {
      const k = await newKey()
      const keep = await grant({ KeyId: k.KeyId })
      const g = await grant({ KeyId: k.KeyId })
      await expectKmsError(
        kms.send(new RevokeGrantCommand({ KeyId: k.KeyId, GrantId: g.GrantId, DryRun: true })),
        'DryRunOperationException',
        AWS_MESSAGES.dryRun,
      )
      await kms.send(new RevokeGrantCommand({ KeyId: k.Arn, GrantId: g.GrantId }))
      assert.deepEqual(await grantIds(k.KeyId!), [keep.GrantId])
      await expectKmsError(
        kms.send(new RevokeGrantCommand({ KeyId: k.KeyId, GrantId: g.GrantId })),
        'NotFoundException',
        `Grant ${g.GrantId} does not exist`,
      )
      await expectKmsError(
        kms.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: keep.GrantId })),
        'NotFoundException',
        `Grant ${keep.GrantId} does not exist`,
      )
      await expectKmsError(
        kms.send(new RevokeGrantCommand({ KeyId: k.KeyId, GrantId: 'G'.repeat(64) })),
        'InvalidGrantIdException',
        `Invalid grantId '${'G'.repeat(64)}'`,
      )
      await expectKmsError(
        kms.send(new RevokeGrantCommand({ KeyId: 'alias/granted', GrantId: keep.GrantId })),
        'InvalidArnException',
        'Key Aliases are not supported for this operation.',
      )
      assert.deepEqual(await grantIds(k.KeyId!), [keep.GrantId])
    })
  })

  describe('KeyService.grantsForKey', () => {
    it('serves a key’s grants from memory and sees every change at once', async () => {
      const k = await newKey()
      const record = (await kw.keyward.keys.findKey('us-east-1', k.KeyId!))!
      assert.deepEqual(await kw.keyward.keys.grantsForKey(record), [])
      const g = await grant({ KeyId: k.KeyId, Operations: ['Decrypt'] })
      const cached = await kw.keyward.keys.grantsForKey(record)
      assert.deepEqual(
        cached.map((x) => [x.grantId, x.granteePrincipal, x.operations]),
        [[g.GrantId, APP_ROLE, ['Decrypt']]],
      )
      assert.equal(await kw.keyward.keys.grantsForKey(record), cached, 'the same cached list')
      await kms.send(new RevokeGrantCommand({ KeyId: k.KeyId, GrantId: g.GrantId }))
      assert.deepEqual(await kw.keyward.keys.grantsForKey(record), [])
    })
  })
})

describe('Grants and quotas', () => {
  it('refuses a grant over the grants-per-key quota, but answers an idempotent retry', async () => {
    const kw = await startKeyward({
      quotas: { resources: { ...DEFAULT_RESOURCE_QUOTAS, grantsPerKey: 2 }, requestRates: false },
    })
    try {
      const kms = kw.client()
      const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
      const input = {
        KeyId: key.KeyId,
        GranteePrincipal: APP_ROLE,
        Operations: ['Decrypt' as const],
      }
      const named = await kms.send(new CreateGrantCommand({ ...input, Name: 'n' }))
      await kms.send(new CreateGrantCommand(input))
      await expectKmsError(
        kms.send(new CreateGrantCommand(input)),
        'LimitExceededException',
        `${key.Arn} already has 2 grants, the maximum per KMS key.`,
      )
      const retry = await kms.send(new CreateGrantCommand({ ...input, Name: 'n' }))
      assert.equal(retry.GrantId, named.GrantId)
    } finally {
      await kw.close()
    }
  })
})

describe('Grants over time', () => {
  it('are deleted with their key by the scheduler', async () => {
    const clock = new ManualClock(Date.parse('2026-03-01T12:00:00Z'))
    const clients = new ClockedClients(clock)
    const kw = await startKeyward({ clock })
    try {
      // A client signing at the server's (manual) time, made after each clock change.
      const kms = () => clients.kms(kw.endpoint)
      const key = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
      const g = await kms().send(
        new CreateGrantCommand({
          KeyId: key.KeyId,
          GranteePrincipal: APP_ROLE,
          RetiringPrincipal: CAROL_ARN,
          Operations: ['Decrypt'],
        }),
      )
      await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }))
      clock.advance(7 * 86_400_000)
      await kw.keyward.scheduler.runOnce()
      assert.equal(await kw.keyward.keys.findGrant(g.GrantId!), undefined)
      const retirable = await kms().send(
        new ListRetirableGrantsCommand({ RetiringPrincipal: CAROL_ARN }),
      )
      assert.deepEqual(retirable.Grants, [])
    } finally {
      clients.destroy()
      await kw.close()
    }
  })

  it('survive a restart, and so do their tokens', async () => {
    const first = await startKeyward()
    let keyId: string
    let grantId: string
    let token: string
    try {
      const kms = first.client()
      keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
      const g = await kms.send(
        new CreateGrantCommand({
          KeyId: keyId,
          GranteePrincipal: APP_ROLE,
          Operations: ['Encrypt'],
        }),
      )
      grantId = g.GrantId!
      token = g.GrantToken!
    } finally {
      await first.keyward.close()
    }
    const second = await startKeyward({ dataDir: first.dataDir })
    try {
      const kms = second.client()
      const listed = await kms.send(new ListGrantsCommand({ KeyId: keyId }))
      assert.deepEqual(
        listed.Grants!.map((g) => [g.GrantId, g.Operations]),
        [[grantId, ['Encrypt']]],
      )
      await kms.send(new RetireGrantCommand({ GrantToken: token }))
      assert.deepEqual((await kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants, [])
    } finally {
      await second.close()
      const { rmSync } = await import('node:fs')
      rmSync(first.dataDir, { recursive: true, force: true })
    }
  })
})
