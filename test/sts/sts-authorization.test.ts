import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { SoftwareRootKey } from '../../src/adapters/root-key/software-root-key.js'
import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import {
  ADMINISTRATOR_POLICY,
  readPrincipals,
  type PrincipalsFile,
} from '../../src/config/principals.js'
import { createKeyward, type Keyward } from '../../src/server.js'
import { expectKmsError } from '../support/assertions.js'
import { CapturingLogger } from '../support/keyward-server.js'

/**
 * Role sessions under the server's own authorizer: the key policy names the role, and the
 * role's identity policy and the session policy decide as AWS's evaluation logic says.
 */

const A = '111122223333'
const ADMIN = { accessKeyId: 'AKIASTSAUTHADMIN0001', secretAccessKey: 'sts-auth-admin-secret' }
const ALICE = { accessKeyId: 'AKIASTSAUTHALICE0002', secretAccessKey: 'sts-auth-alice-secret' }
const ROLE_ARN = `arn:aws:iam::${A}:role/app`

const FILE: PrincipalsFile = {
  accounts: [
    {
      id: A,
      users: [
        { name: 'admin', accessKeys: [ADMIN], policies: [ADMINISTRATOR_POLICY] },
        { name: 'alice', accessKeys: [ALICE], policies: [] },
      ],
      roles: [
        {
          name: 'app',
          trustPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${A}:user/alice` },
                Action: 'sts:AssumeRole',
              },
            ],
          },
          // No identity policy: the key policy must name the role itself.
          policies: [],
        },
      ],
    },
  ],
}

describe('role sessions under key policies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-sts-authz-'))
  let keyward: Keyward
  let endpoint: string
  const clients: Array<{ destroy(): void }> = []
  type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  const kms = (credentials: Creds) => {
    const c = new KMSClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 })
    clients.push(c)
    return c
  }
  const session = async (policy?: object): Promise<Creds> => {
    const sts = new STSClient({
      endpoint,
      region: 'us-east-1',
      credentials: ALICE,
      maxAttempts: 1,
    })
    clients.push(sts)
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: ROLE_ARN,
        RoleSessionName: 'worker',
        ...(policy ? { Policy: JSON.stringify(policy) } : {}),
      }),
    )
    return {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: out.Credentials!.SessionToken!,
    }
  }

  before(async () => {
    const path = join(dir, 'principals.json')
    writeFileSync(path, JSON.stringify(FILE), { mode: 0o600 })
    keyward = await createKeyward({
      store: await openSqliteKeyStore(join(dir, 'keyward.db')),
      rootKey: new SoftwareRootKey(Buffer.alloc(32, 5)),
      principals: readPrincipals(path),
      logger: new CapturingLogger(),
    })
    endpoint = `http://127.0.0.1:${(await keyward.listen(0, '127.0.0.1')).port}`
  })
  after(async () => {
    for (const c of clients) c.destroy()
    await keyward.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('a key policy naming the role lets its sessions in; a session policy narrows them', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'admin',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${A}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          Sid: 'role',
          Effect: 'Allow',
          Principal: { AWS: ROLE_ARN },
          Action: 'kms:Encrypt',
          Resource: '*',
        },
      ],
    }
    const { KeyMetadata } = await kms(ADMIN).send(
      new CreateKeyCommand({ Policy: JSON.stringify(policy) }),
    )
    const KeyId = KeyMetadata!.Arn!
    const encrypt = (c: Creds) =>
      kms(c).send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }))

    await encrypt(await session())
    // The session policy can only narrow: without kms:Encrypt in it, the statement naming the
    // role no longer applies, and the role holds no identity policy for the delegation either.
    const narrowed = await session({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }],
    })
    await expectKmsError(
      encrypt(narrowed),
      'AccessDeniedException',
      `User: arn:aws:sts::${A}:assumed-role/app/worker is not authorized to perform: kms:Encrypt on resource: ${KeyId} because no identity-based policy allows the kms:Encrypt action`,
    )
    // The user alice herself is not named by the key policy and holds no identity policy.
    await expectKmsError(
      encrypt(ALICE),
      'AccessDeniedException',
      `User: arn:aws:iam::${A}:user/alice is not authorized to perform: kms:Encrypt on resource: ${KeyId} because no identity-based policy allows the kms:Encrypt action`,
    )
    assert.ok(KeyId.startsWith(`arn:aws:kms:us-east-1:${A}:key/`))
  })
})

describe('a principals file written before identity policies', () => {
  it('starts, its users are administrators, and the server says so once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyward-legacy-'))
    try {
      writeFileSync(
        join(dataDir, 'principals.json'),
        JSON.stringify({
          accounts: [
            {
              id: A,
              // Named fields: the SDK has added `$source` to the ADMIN object by now.
              users: [
                {
                  name: 'ops',
                  accessKeys: [
                    { accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secretAccessKey },
                  ],
                },
              ],
            },
          ],
        }),
        { mode: 0o600 },
      )
      const logger = new CapturingLogger()
      const { createEmbeddedKeyward } = await import('../../src/server.js')
      const { keyward } = await createEmbeddedKeyward({
        dataDir,
        logger,
        runScheduler: false,
        env: {},
      })
      try {
        const said = logger.lines.filter((l) => l.includes('have no \\"policies\\" member'))
        assert.equal(said.length, 1, logger.lines.join('\n'))
        assert.ok(said[0]!.includes(`arn:aws:iam::${A}:user/ops`))
        const port = (await keyward.listen(0, '127.0.0.1')).port
        const client = new KMSClient({
          endpoint: `http://127.0.0.1:${port}`,
          region: 'us-east-1',
          credentials: ADMIN,
          maxAttempts: 1,
        })
        // An administrator: CreateKey is decided by identity policies alone.
        await client.send(new CreateKeyCommand({}))
        client.destroy()
      } finally {
        await keyward.close()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
