/**
 * Authorization end to end through @aws-sdk/client-kms (issue 12): key policies, identity
 * policies, cross-account use, ABAC by tag and alias, the lockout check, DryRun and --dev.
 * The users below are what the principals file gives after its growth (identity policies as
 * JSON objects on the Caller); the test admin is a pre-existing user, an administrator.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ListKeysCommand,
  PutKeyPolicyCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-kms'
import type { PolicyCaller } from '../../src/domain/policy-caller.js'
import { expectKmsError } from '../support/assertions.js'
import { AWS_MESSAGES } from '../support/aws-messages.js'
import { OTHER, OTHER_ACCOUNT, startKeyward, type TestServer } from '../support/keyward-server.js'

const ACCOUNT = '111122223333'
const ROOT = `arn:aws:iam::${ACCOUNT}:root`
const PLAINTEXT = Buffer.from('authorized bytes')

/** A user of `account` with the given identity policies, and its access key. */
function user(name: string, policies: object[], account = ACCOUNT) {
  const n = name.toUpperCase().padEnd(12, 'X').slice(0, 12)
  const credentials = {
    accessKeyId: `AKIATEST${n}`,
    secretAccessKey: `secret-of-${name}-for-tests-only-00000000000`,
  }
  const principal: PolicyCaller = {
    accountId: account,
    arn: `arn:aws:iam::${account}:user/${name}`,
    identityPolicies: policies,
  }
  return { name, arn: principal.arn, credentials, principal }
}

const allow = (Action: string | string[], extra: object = {}) => ({
  Effect: 'Allow',
  Action,
  Resource: '*',
  ...extra,
})
const doc = (...Statement: object[]) => ({ Version: '2012-10-17', Statement })

const alice = user('alice', [doc(allow(['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey']))])
const bob = user('bob', [])
const lister = user('lister', [doc(allow('kms:ListKeys'))])
const denier = user('denier', [
  doc(allow('kms:*'), { Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' }),
])
const tagged = user('tagged', [
  doc(
    allow('kms:Encrypt', { Condition: { StringEquals: { 'aws:ResourceTag/Project': 'Alpha' } } }),
    allow('kms:GenerateDataKey', {
      Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/finance-key' } },
    }),
  ),
])
const carol = user('carol', [doc(allow('kms:Encrypt'))], OTHER_ACCOUNT)
const local = user('local', [
  doc(allow('kms:Encrypt', { Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } })),
])
const remote = user('remote', [
  doc(allow('kms:Encrypt', { Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } })),
])
const tlsOnly = user('tlsonly', [
  doc(allow('kms:Encrypt', { Condition: { Bool: { 'aws:SecureTransport': 'true' } } })),
])

const sdkOnly = user('sdkonly', [
  doc(allow('kms:Encrypt', { Condition: { StringLike: { 'aws:UserAgent': 'aws-sdk-js/*' } } })),
])
const cliOnly = user('clionly', [
  doc(allow('kms:Encrypt', { Condition: { StringLike: { 'aws:UserAgent': 'aws-cli/*' } } })),
])

const denied = (who: string, op: string, resource: string, type: string) =>
  `User: ${who} is not authorized to perform: kms:${op} on resource: ${resource} because no ${type} policy allows the kms:${op} action`

describe('authorization: key policies, identity policies and grants', () => {
  let kw: TestServer
  let admin: KMSClient
  const as = (u: { credentials: { accessKeyId: string; secretAccessKey: string } }) =>
    kw.client({ credentials: u.credentials })
  const newKey = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) =>
    (await admin.send(new CreateKeyCommand(input))).KeyMetadata!

  before(async () => {
    kw = await startKeyward()
    admin = kw.client()
    const current = kw.keyward.principals.current()
    const credentials = new Map(current.credentials)
    const users = new Map(current.users)
    for (const u of [
      ...[alice, bob, lister, denier, tagged, carol],
      ...[local, remote, tlsOnly, sdkOnly, cliOnly],
    ]) {
      credentials.set(u.credentials.accessKeyId, {
        secretAccessKey: u.credentials.secretAccessKey,
        principal: u.principal,
      })
      users.set(u.arn, u.principal)
    }
    kw.keyward.principals.replace({ ...current, credentials, users })
  })
  after(() => kw.close())

  it("the default key policy lets the account's administrator and its allowed users in", async () => {
    const key = await newKey()
    await admin.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT }))
    const out = await as(alice).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT }))
    assert.equal(out.KeyId, key.Arn)
  })

  it('a user with a limited identity policy is refused what it does not name', async () => {
    const key = await newKey()
    await expectKmsError(
      as(alice).send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId })),
      'AccessDeniedException',
      denied(alice.arn, 'ScheduleKeyDeletion', key.Arn!, 'identity-based'),
    )
    await expectKmsError(
      as(bob).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT })),
      'AccessDeniedException',
      denied(bob.arn, 'Encrypt', key.Arn!, 'identity-based'),
    )
  })

  it('account-wide operations are decided by identity policies alone', async () => {
    await expectKmsError(
      as(alice).send(new ListKeysCommand({})),
      'AccessDeniedException',
      denied(alice.arn, 'ListKeys', '*', 'identity-based'),
    )
    await expectKmsError(
      as(alice).send(new CreateKeyCommand({})),
      'AccessDeniedException',
      denied(alice.arn, 'CreateKey', '*', 'identity-based'),
    )
    const listed = await as(lister).send(new ListKeysCommand({}))
    assert.ok(Array.isArray(listed.Keys))
  })

  it('a key policy condition on the encryption context decides a direct grant to a user', async () => {
    const policy = JSON.stringify(
      doc(
        { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Allow',
          Principal: { AWS: bob.arn },
          Action: 'kms:Encrypt',
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:AppName': 'ExampleApp' } },
        },
      ),
    )
    const key = await newKey({ Policy: policy })
    const ok = await as(bob).send(
      new EncryptCommand({
        KeyId: key.KeyId,
        Plaintext: PLAINTEXT,
        EncryptionContext: { AppName: 'ExampleApp', Project: 'Alpha' },
      }),
    )
    assert.equal(ok.KeyId, key.Arn)
    await expectKmsError(
      as(bob).send(
        new EncryptCommand({
          KeyId: key.KeyId,
          Plaintext: PLAINTEXT,
          EncryptionContext: { AppName: 'Other' },
        }),
      ),
      'AccessDeniedException',
      denied(bob.arn, 'Encrypt', key.Arn!, 'identity-based'),
    )
  })

  it('a grant lets a user no policy allows use the key, within its constraints, until revoked', async () => {
    const key = await newKey()
    const context = { app: 'billing' }
    const encrypt = (EncryptionContext?: Record<string, string>) =>
      as(bob).send(
        new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT, EncryptionContext }),
      )
    await expectKmsError(
      encrypt(context),
      'AccessDeniedException',
      denied(bob.arn, 'Encrypt', key.Arn!, 'identity-based'),
    )
    const { GrantId } = await admin.send(
      new CreateGrantCommand({
        KeyId: key.KeyId,
        GranteePrincipal: bob.arn,
        Operations: ['Encrypt'],
        Constraints: { EncryptionContextEquals: context },
      }),
    )
    // The grant counts at once (kms-authz.md §6.3: stricter than AWS's eventual consistency).
    assert.equal((await encrypt(context)).KeyId, key.Arn)
    await expectKmsError(
      encrypt({ app: 'payroll' }),
      'AccessDeniedException',
      denied(bob.arn, 'Encrypt', key.Arn!, 'identity-based'),
    )
    await admin.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId }))
    await expectKmsError(
      encrypt(context),
      'AccessDeniedException',
      denied(bob.arn, 'Encrypt', key.Arn!, 'identity-based'),
    )
  })

  it('aws:SourceIp is the peer address and aws:SecureTransport is false over plain HTTP', async () => {
    const key = await newKey()
    const encrypt = (u: typeof local) =>
      as(u).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT }))
    assert.equal((await encrypt(local)).KeyId, key.Arn)
    for (const u of [remote, tlsOnly]) {
      await expectKmsError(
        encrypt(u),
        'AccessDeniedException',
        denied(u.arn, 'Encrypt', key.Arn!, 'identity-based'),
      )
    }
  })

  it('aws:UserAgent is the User-Agent header the client sent', async () => {
    const key = await newKey()
    const encrypt = (u: typeof local) =>
      as(u).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT }))
    assert.equal((await encrypt(sdkOnly)).KeyId, key.Arn)
    await expectKmsError(
      encrypt(cliOnly),
      'AccessDeniedException',
      denied(cliOnly.arn, 'Encrypt', key.Arn!, 'identity-based'),
    )
  })

  it('an explicit deny wins, in an identity policy or in the key policy', async () => {
    const key = await newKey()
    const { CiphertextBlob } = await admin.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT }),
    )
    await expectKmsError(
      as(denier).send(new DecryptCommand({ CiphertextBlob })),
      'AccessDeniedException',
      `User: ${denier.arn} is not authorized to perform: kms:Decrypt on resource: ${key.Arn} with an explicit deny in an identity-based policy`,
    )
    const policy = JSON.stringify(
      doc(
        { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: alice.arn }, Action: 'kms:Encrypt', Resource: '*' },
      ),
    )
    await admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: policy }))
    // The new policy decides the very next call.
    await expectKmsError(
      as(alice).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT })),
      'AccessDeniedException',
      `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${key.Arn} with an explicit deny in a resource-based policy`,
    )
  })

  it('cross-account use needs the key policy and the identity policy; never for key management', async () => {
    const policy = JSON.stringify(
      doc(
        { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:root` },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ScheduleKeyDeletion'],
          Resource: '*',
        },
      ),
    )
    const key = await newKey({ Policy: policy })
    const out = await as(carol).send(new EncryptCommand({ KeyId: key.Arn, Plaintext: PLAINTEXT }))
    assert.equal(out.KeyId, key.Arn)
    // Carol's identity policy does not allow Decrypt: the foreign key answers as a missing one.
    await expectKmsError(
      as(carol).send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob })),
      'AccessDeniedException',
      AWS_MESSAGES.accessDeniedCiphertext,
    )
    // The other account's administrator may decrypt it: key policy and identity both allow.
    const opened = await kw
      .client({ credentials: OTHER })
      .send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }))
    assert.deepEqual(Buffer.from(opened.Plaintext!), PLAINTEXT)
    await expectKmsError(
      kw.client({ credentials: OTHER }).send(new ScheduleKeyDeletionCommand({ KeyId: key.Arn })),
      'AccessDeniedException',
      denied(
        `arn:aws:iam::${OTHER_ACCOUNT}:user/admin`,
        'ScheduleKeyDeletion',
        key.Arn!,
        'resource-based',
      ),
    )
  })

  it('a key of another account that does not exist is denied like one the caller may not use', async () => {
    const key = await newKey()
    const missing = key.Arn!.replace(/key\/.*/, 'key/12121212-3434-4565-8787-909090909090')
    for (const arn of [key.Arn!, missing]) {
      await expectKmsError(
        as(carol).send(new EncryptCommand({ KeyId: arn, Plaintext: PLAINTEXT })),
        'AccessDeniedException',
        denied(carol.arn, 'Encrypt', arn, 'resource-based'),
      )
    }
  })

  it('ABAC: aws:ResourceTag and kms:ResourceAliases decide at once after a change', async () => {
    const key = await newKey()
    const encrypt = () =>
      as(tagged).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT }))
    const dataKey = () =>
      as(tagged).send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }))
    await expectKmsError(
      encrypt(),
      'AccessDeniedException',
      denied(tagged.arn, 'Encrypt', key.Arn!, 'identity-based'),
    )
    await admin.send(
      new TagResourceCommand({
        KeyId: key.KeyId,
        Tags: [{ TagKey: 'Project', TagValue: 'Alpha' }],
      }),
    )
    await encrypt()
    await admin.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['Project'] }))
    await expectKmsError(
      encrypt(),
      'AccessDeniedException',
      denied(tagged.arn, 'Encrypt', key.Arn!, 'identity-based'),
    )
    await expectKmsError(
      dataKey(),
      'AccessDeniedException',
      denied(tagged.arn, 'GenerateDataKey', key.Arn!, 'identity-based'),
    )
    await admin.send(
      new CreateAliasCommand({ AliasName: 'alias/finance-key', TargetKeyId: key.KeyId }),
    )
    const out = await dataKey()
    assert.equal(out.KeyId, key.Arn)
  })

  it('a key policy naming a user or role that does not exist is refused, as AWS refuses it', async () => {
    const invalid = 'Policy contains a statement with one or more invalid principals.'
    const naming = (AWS: string) =>
      JSON.stringify(
        doc(
          { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
          { Effect: 'Allow', Principal: { AWS }, Action: 'kms:Encrypt', Resource: '*' },
        ),
      )
    const key = await newKey()
    for (const arn of [
      `arn:aws:iam::${ACCOUNT}:user/nobody`,
      `arn:aws:iam::${ACCOUNT}:role/NoSuchRole`,
      `arn:aws:sts::${ACCOUNT}:assumed-role/NoSuchRole/session`,
    ]) {
      await expectKmsError(
        admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: naming(arn) })),
        'MalformedPolicyDocumentException',
        invalid,
      )
      await expectKmsError(
        admin.send(new CreateKeyCommand({ Policy: naming(arn) })),
        'MalformedPolicyDocumentException',
        invalid,
      )
    }
    // Known users and any account principal are accepted.
    await admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: naming(alice.arn) }))
    await admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: naming('444455556666') }))
  })

  it('the lockout safety check refuses a policy that shuts the caller out, unless bypassed', async () => {
    const lockout = 'The new key policy will not allow you to update the key policy in the future.'
    const onlyBob = JSON.stringify(
      doc({ Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'kms:*', Resource: '*' }),
    )
    const key = await newKey()
    await expectKmsError(
      admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: onlyBob })),
      'MalformedPolicyDocumentException',
      lockout,
    )
    await expectKmsError(
      admin.send(new CreateKeyCommand({ Policy: onlyBob })),
      'MalformedPolicyDocumentException',
      lockout,
    )
    await admin.send(
      new PutKeyPolicyCommand({
        KeyId: key.KeyId,
        Policy: onlyBob,
        BypassPolicyLockoutSafetyCheck: true,
      }),
    )
    // Bypassed: the administrator is now shut out, as AWS warns.
    await expectKmsError(
      admin.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT })),
      'AccessDeniedException',
      denied(`arn:aws:iam::${ACCOUNT}:user/admin`, 'Encrypt', key.Arn!, 'resource-based'),
    )
  })

  it("malformed policies get the evaluator's MalformedPolicyDocumentException", async () => {
    const policy = JSON.stringify(
      doc({
        Effect: 'Allow',
        Principal: { AWS: ROOT },
        Action: 'kms:*',
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/Project': 'Alpha' } },
      }),
    )
    await expectKmsError(
      admin.send(new CreateKeyCommand({ Policy: policy })),
      'MalformedPolicyDocumentException',
      'These condition keys are not permitted in a key policy: aws:ResourceTag, kms:ResourceTag, kms:ResourceAliases',
    )
  })

  it('DryRun answers DryRunOperationException only once authorization passed', async () => {
    const key = await newKey()
    await expectKmsError(
      as(bob).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT, DryRun: true })),
      'AccessDeniedException',
      denied(bob.arn, 'Encrypt', key.Arn!, 'identity-based'),
    )
    await expectKmsError(
      as(alice).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT, DryRun: true })),
      'DryRunOperationException',
      AWS_MESSAGES.dryRun,
    )
  })
})

describe('authorization in --dev mode', () => {
  it('allows every call, even one the key policy denies', async () => {
    const kw = await startKeyward({ dev: true })
    try {
      const kms = kw.client()
      const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
      const denyAll = JSON.stringify(
        doc({ Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*' }),
      )
      await kms.send(
        new PutKeyPolicyCommand({
          KeyId: key.KeyId,
          Policy: denyAll,
          BypassPolicyLockoutSafetyCheck: true,
        }),
      )
      const out = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: PLAINTEXT }))
      assert.equal(out.KeyId, key.Arn)
    } finally {
      await kw.close()
    }
  })
})
