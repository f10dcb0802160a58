import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms'
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
  type Credentials,
} from '@aws-sdk/client-sts'
import { SoftwareRootKey } from '../../src/adapters/root-key/software-root-key.js'
import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import { readPrincipals, type PrincipalsFile } from '../../src/config/principals.js'
import type { Caller } from '../../src/domain/caller.js'
import { createKeyward, type Keyward } from '../../src/server.js'
import { CapturingLogger } from '../support/keyward-server.js'

const A = '111122223333'
const B = '444455556666'
const key = (n: number) => ({
  accessKeyId: `AKIASTSTEST0000000${n}`,
  secretAccessKey: `secret-for-sts-tests-only-00000000000000${n}`,
})
const ALICE = key(1)
const BOB = key(2)
const CAROL = key(3)
const DAVE = key(4)
const allow = (action: string) => ({
  name: `allow-${action.replace(/[^\w]/g, '')}`,
  document: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
  },
})
const trust = (principal: string, actions: string | string[] = 'sts:AssumeRole') => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: actions }],
})

const FILE: PrincipalsFile = {
  accounts: [
    {
      id: A,
      users: [
        {
          name: 'alice',
          accessKeys: [ALICE],
          policies: [allow('kms:ListKeys')],
          tags: { team: 'blue' },
          groups: ['assumers'],
        },
        { name: 'bob', accessKeys: [BOB], policies: [] },
      ],
      groups: [{ name: 'assumers', policies: [allow('sts:AssumeRole')] }],
      roles: [
        {
          name: 'app',
          trustPolicy: trust(`arn:aws:iam::${A}:user/alice`),
          policies: [allow('kms:*')],
          tags: { tier: 'app', team: 'red' },
        },
        {
          name: 'delegated',
          trustPolicy: trust(`arn:aws:iam::${A}:root`),
          policies: [],
          maxSessionDuration: 7200,
        },
        {
          name: 'tagged',
          trustPolicy: trust(`arn:aws:iam::${A}:user/alice`, ['sts:AssumeRole', 'sts:TagSession']),
          policies: [],
        },
        { name: 'shared', trustPolicy: trust(`arn:aws:iam::${B}:root`), policies: [] },
      ],
    },
    {
      id: B,
      users: [
        { name: 'carol', accessKeys: [CAROL], policies: [allow('sts:AssumeRole')] },
        { name: 'dave', accessKeys: [DAVE], policies: [] },
      ],
    },
  ],
}

describe('STS through @aws-sdk/client-sts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-sts-'))
  const path = join(dir, 'principals.json')
  let now = Date.now()
  const clock = { now: () => now }
  const seen: Caller[] = []
  const logger = new CapturingLogger()
  let keyward: Keyward
  let endpoint: string
  const clients: Array<{ destroy(): void }> = []

  const start = async () => {
    const store = await openSqliteKeyStore(join(dir, 'keyward.db'))
    keyward = await createKeyward({
      store,
      rootKey: new SoftwareRootKey(Buffer.alloc(32, 9)),
      principals: readPrincipals(path),
      logger,
      clock,
      authorizer: { authorize: ({ caller }) => void seen.push(caller) },
    })
    endpoint = `http://127.0.0.1:${(await keyward.listen(0, '127.0.0.1')).port}`
  }
  before(async () => {
    writeFileSync(path, JSON.stringify(FILE), { mode: 0o600 })
    await start()
  })
  after(async () => {
    for (const c of clients) c.destroy()
    await keyward.close()
    rmSync(dir, { recursive: true, force: true })
  })

  type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  // The SDK signs with its own clock; it follows the server's test clock so that SigV4's
  // five-minute skew check passes when the test moves time forward.
  const offset = () => now - Date.now()
  const sts = (credentials: Creds) => {
    const c = new STSClient({
      endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
      systemClockOffset: offset(),
    })
    clients.push(c)
    return c
  }
  const kms = (credentials: Creds) => {
    const c = new KMSClient({
      endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
      systemClockOffset: offset(),
    })
    clients.push(c)
    return c
  }
  const temporary = (c: Credentials | undefined): Creds => ({
    accessKeyId: c!.AccessKeyId!,
    secretAccessKey: c!.SecretAccessKey!,
    sessionToken: c!.SessionToken!,
  })
  const rejects = async (p: Promise<unknown>, name: string, message: string) => {
    await assert.rejects(p, (e: Error) => {
      assert.equal(e.name, name)
      assert.equal(e.message, message)
      return true
    })
  }
  const assume = (who: Creds, input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]>) =>
    sts(who).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${A}:role/app`,
        RoleSessionName: 's1',
        ...input,
      }),
    )

  it('GetCallerIdentity as an IAM user', async () => {
    const out = await sts(ALICE).send(new GetCallerIdentityCommand({}))
    assert.equal(out.Arn, `arn:aws:iam::${A}:user/alice`)
    assert.equal(out.Account, A)
    assert.match(out.UserId!, /^AIDA[A-Z2-7]{17}$/)
  })

  it("a KMS call carries the user, its tags, and its own plus its groups' policies", async () => {
    seen.length = 0
    await kms(ALICE).send(new ListKeysCommand({}))
    const caller = seen[0]!
    assert.equal(caller.principalType, 'user')
    assert.equal(caller.userName, 'alice')
    assert.equal(caller.accessKeyId, ALICE.accessKeyId)
    assert.deepEqual(caller.tags, { team: 'blue' })
    assert.deepEqual(caller.identityPolicies, [
      allow('kms:ListKeys').document,
      allow('sts:AssumeRole').document,
    ])
  })

  it('AssumeRole allowed by a trust policy naming the user; the session authenticates as the assumed role', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'kms:List*', Resource: '*' }],
    }
    const out = await assume(ALICE, { RoleSessionName: 'build-42', Policy: JSON.stringify(policy) })
    assert.equal(out.AssumedRoleUser!.Arn, `arn:aws:sts::${A}:assumed-role/app/build-42`)
    assert.match(out.AssumedRoleUser!.AssumedRoleId!, /^AROA[A-Z2-7]{17}:build-42$/)
    assert.match(out.Credentials!.AccessKeyId!, /^ASIA[A-Z2-7]{16}$/)
    const ttl = out.Credentials!.Expiration!.getTime() - now
    assert.ok(ttl > 3590_000 && ttl <= 3600_000, `default duration is one hour, got ${ttl}`)
    const creds = temporary(out.Credentials)
    const who = await sts(creds).send(new GetCallerIdentityCommand({}))
    assert.equal(who.Arn, `arn:aws:sts::${A}:assumed-role/app/build-42`)
    assert.equal(who.UserId, out.AssumedRoleUser!.AssumedRoleId)
    seen.length = 0
    await kms(creds).send(new ListKeysCommand({}))
    const caller = seen[0]!
    assert.equal(caller.principalType, 'assumed-role')
    assert.equal(caller.arn, `arn:aws:sts::${A}:assumed-role/app/build-42`)
    assert.equal(caller.roleArn, `arn:aws:iam::${A}:role/app`)
    assert.equal(caller.sessionName, 'build-42')
    assert.deepEqual(caller.identityPolicies, [allow('kms:*').document])
    assert.deepEqual(caller.sessionPolicy, policy)
    assert.deepEqual(caller.tags, { tier: 'app', team: 'red' })
  })

  it('AssumeRole denied when the trust policy does not name the caller', async () => {
    await rejects(
      assume(BOB, {}),
      'AccessDenied',
      `User: arn:aws:iam::${A}:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${A}:role/app`,
    )
    // A role that does not exist answers alike.
    await rejects(
      assume(ALICE, { RoleArn: `arn:aws:iam::${A}:role/nope` }),
      'AccessDenied',
      `User: arn:aws:iam::${A}:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${A}:role/nope`,
    )
  })

  it('a trust policy naming the account needs an identity policy too', async () => {
    const RoleArn = `arn:aws:iam::${A}:role/delegated`
    await assume(ALICE, { RoleArn })
    await rejects(
      assume(BOB, { RoleArn }),
      'AccessDenied',
      `User: arn:aws:iam::${A}:user/bob is not authorized to perform: sts:AssumeRole on resource: ${RoleArn}`,
    )
  })

  it("across accounts: the trust policy and the caller's identity policy must both allow", async () => {
    const RoleArn = `arn:aws:iam::${A}:role/shared`
    const out = await assume(CAROL, { RoleArn })
    assert.equal(out.AssumedRoleUser!.Arn, `arn:aws:sts::${A}:assumed-role/shared/s1`)
    await rejects(
      assume(DAVE, { RoleArn }),
      'AccessDenied',
      `User: arn:aws:iam::${B}:user/dave is not authorized to perform: sts:AssumeRole on resource: ${RoleArn}`,
    )
    await rejects(
      assume(CAROL, {}),
      'AccessDenied',
      `User: arn:aws:iam::${B}:user/carol is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${A}:role/app`,
    )
  })

  it('session tags need sts:TagSession in the trust policy', async () => {
    const Tags = [{ Key: 'project', Value: 'x' }]
    await rejects(
      assume(ALICE, { Tags }),
      'AccessDenied',
      `User: arn:aws:iam::${A}:user/alice is not authorized to perform: sts:TagSession on resource: arn:aws:iam::${A}:role/app`,
    )
    const out = await assume(ALICE, { RoleArn: `arn:aws:iam::${A}:role/tagged`, Tags })
    seen.length = 0
    await kms(temporary(out.Credentials)).send(new ListKeysCommand({}))
    assert.deepEqual(seen[0]!.tags, { project: 'x' })
  })

  it("DurationSeconds: 900 up to the role's MaxSessionDuration", async () => {
    await rejects(
      assume(ALICE, { DurationSeconds: 899 }),
      'ValidationError',
      "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    )
    await rejects(
      assume(ALICE, { DurationSeconds: 3601 }),
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    )
    const out = await assume(ALICE, {
      RoleArn: `arn:aws:iam::${A}:role/delegated`,
      DurationSeconds: 7200,
    })
    assert.equal(out.Credentials!.Expiration!.getTime(), Math.floor(now / 1000) * 1000 + 7200_000)
    await rejects(
      assume(ALICE, { RoleSessionName: 'bad name!' }),
      'ValidationError',
      "1 validation error detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    )
  })

  it('GetSessionToken issues user sessions, and not from session credentials', async () => {
    const out = await sts(ALICE).send(new GetSessionTokenCommand({ DurationSeconds: 900 }))
    const creds = temporary(out.Credentials)
    const who = await sts(creds).send(new GetCallerIdentityCommand({}))
    assert.equal(who.Arn, `arn:aws:iam::${A}:user/alice`)
    await rejects(
      sts(creds).send(new GetSessionTokenCommand({})),
      'AccessDenied',
      'Cannot call GetSessionToken with session credentials',
    )
  })

  it('a forged or altered session token is refused', async () => {
    const creds = temporary((await assume(ALICE, {})).Credentials)
    const raw = Buffer.from(creds.sessionToken!, 'base64')
    raw[raw.length - 1]! ^= 1
    await rejects(
      kms({ ...creds, sessionToken: raw.toString('base64') }).send(new ListKeysCommand({})),
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    )
    await rejects(
      sts({ ...creds, sessionToken: undefined }).send(new GetCallerIdentityCommand({})),
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
    )
  })

  it('temporary credentials survive a restart, and expire', async () => {
    const creds = temporary((await assume(ALICE, { DurationSeconds: 900 })).Credentials)
    await keyward.close()
    await start()
    await kms(creds).send(new ListKeysCommand({}))
    now += 901_000
    await rejects(
      kms(creds).send(new ListKeysCommand({})),
      'ExpiredTokenException',
      'The security token included in the request is expired',
    )
    await rejects(
      sts(creds).send(new GetCallerIdentityCommand({})),
      'ExpiredToken',
      'The security token included in the request is expired',
    )
  })
})
