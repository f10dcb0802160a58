import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Agent } from 'node:http'
import { GenerateRandomCommand, KMSClient } from '@aws-sdk/client-kms'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { readPrincipals, type PrincipalsFile } from '../../src/config/principals.js'
import { expectKmsError } from '../support/assertions.js'
import { childEnv, KEYWARD_BIN, REPO_ROOT, startServe, stopServe } from '../support/cli-process.js'

/** `keyward principals …`: edits that leave a valid file, written atomically, picked up live. */

const run = (args: string[]) =>
  spawnSync(process.execPath, [KEYWARD_BIN, 'principals', ...args], {
    cwd: REPO_ROOT,
    env: childEnv({}),
    encoding: 'utf8',
    timeout: 30_000,
  })
const lastLine = (text: string) => text.trim().split('\n').at(-1)

describe('keyward principals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-principals-cli-'))
  const clients: Array<{ destroy(): void }> = []
  after(() => {
    for (const c of clients) c.destroy()
    rmSync(dir, { recursive: true, force: true })
  })
  const config = join(dir, 'principals.json')
  const json = (name: string, value: unknown) => {
    const path = join(dir, name)
    writeFileSync(path, JSON.stringify(value))
    return path
  }
  const ok = (args: string[]) => {
    const r = run(['--config', config, ...args])
    assert.equal(r.status, 0, r.stderr)
    return r.stdout
  }

  it('writes valid files, mode 0600, through a temporary file renamed into place', () => {
    writeFileSync(
      config,
      JSON.stringify({ accounts: [{ id: '111122223333', users: [] }] } satisfies PrincipalsFile),
      { mode: 0o600 },
    )
    ok(['add-user', 'alice'])
    const created = JSON.parse(ok(['create-access-key', 'alice'])) as {
      AccessKey: { UserName: string; AccessKeyId: string; SecretAccessKey: string }
    }
    assert.equal(created.AccessKey.UserName, 'alice')
    assert.match(created.AccessKey.AccessKeyId, /^AKIA[A-Z2-7]{16}$/)
    const policy = json('encrypt.json', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }],
    })
    ok(['attach-policy', '--user', 'alice', '--policy-name', 'enc', '--policy-document', policy])
    ok(['attach-policy', '--group', 'ops', '--policy-name', 'enc', '--policy-document', policy])
    const trust = json('trust.json', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::111122223333:user/alice' },
          Action: 'sts:AssumeRole',
        },
      ],
    })
    ok(['add-role', 'app', '--trust-policy', trust, '--max-session-duration', '7200'])
    ok(['add-user', 'carol', '--account', '444455556666', '--admin'])

    assert.equal(statSync(config).mode & 0o777, 0o600)
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith('.tmp')),
      [],
      'no temporary file is left',
    )
    const p = readPrincipals(config)
    const alice = p.credentials.get(created.AccessKey.AccessKeyId)!
    assert.equal(alice.secretAccessKey, created.AccessKey.SecretAccessKey)
    assert.deepEqual(alice.principal.identityPolicies, [
      {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }],
      },
    ])
    assert.equal(p.roles!.get('arn:aws:iam::111122223333:role/app')!.maxSessionDuration, 7200)
    assert.ok(p.users!.has('arn:aws:iam::444455556666:user/carol'))

    ok(['revoke-access-key', created.AccessKey.AccessKeyId])
    assert.equal(readPrincipals(config).credentials.has(created.AccessKey.AccessKeyId), false)
  })

  it('refuses an edit that would make a file the server refuses, and leaves the file as it was', () => {
    const before = readFileSync(config, 'utf8')
    const bad = json('bad.json', { Version: '2012-10-17', Statement: [{ Effect: 'Allow' }] })
    const r = run([
      '--config',
      config,
      'attach-policy',
      '--role',
      'app',
      '--policy-name',
      'x',
      '--policy-document',
      bad,
    ])
    assert.equal(r.status, 1)
    assert.match(
      lastLine(r.stderr)!,
      new RegExp(
        `^${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: /accounts/0/roles/0/policies/0/document \\(policy x of role app\\): `,
      ),
    )
    const twice = run(['--config', config, 'add-user', 'alice'])
    assert.equal(twice.status, 1)
    assert.equal(lastLine(twice.stderr), 'account 111122223333 already has a user named alice')
    assert.equal(readFileSync(config, 'utf8'), before)
  })

  it('a running server picks up an edit without SIGHUP', async () => {
    const dataDir = join(dir, 'data')
    const kw = await startServe(['--port', '0', '--data-dir', dataDir], {
      env: {},
      timeoutMs: 30_000,
    })
    try {
      const path = join(dataDir, 'principals.json')
      const edit = (args: string[]) => {
        const r = run(['--data-dir', dataDir, ...args])
        assert.equal(r.status, 0, r.stderr)
        return r.stdout
      }
      // An administrator, so that the call is allowed whatever the key and identity policies.
      edit(['add-user', 'bob', '--admin'])
      const { AccessKey } = JSON.parse(edit(['create-access-key', 'bob'])) as {
        AccessKey: { AccessKeyId: string; SecretAccessKey: string }
      }
      const credentials = {
        accessKeyId: AccessKey.AccessKeyId,
        secretAccessKey: AccessKey.SecretAccessKey,
      }
      const kms = new KMSClient({
        endpoint: kw.url,
        region: 'us-east-1',
        credentials,
        maxAttempts: 1,
        requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
      })
      clients.push(kms)
      let done = false
      for (let i = 0; i < 100 && !done; i++) {
        try {
          await kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }))
          done = true
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
      assert.ok(done, `bob's new key was not accepted: ${kw.stderr()}`)
      // The STS endpoint on the same port answers as AWS's, for bob without any trust.
      const sts = new STSClient({
        endpoint: kw.url,
        region: 'us-east-1',
        credentials,
        maxAttempts: 1,
      })
      clients.push(sts)
      await assert.rejects(
        sts.send(
          new AssumeRoleCommand({
            RoleArn: 'arn:aws:iam::111122223333:role/none',
            RoleSessionName: 'x1',
          }),
        ),
        (e: Error) =>
          e.name === 'AccessDenied' &&
          e.message ===
            'User: arn:aws:iam::111122223333:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/none',
      )
      edit(['revoke-access-key', AccessKey.AccessKeyId])
      let refused = false
      for (let i = 0; i < 100 && !refused; i++) {
        try {
          await kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }))
          await new Promise((resolve) => setTimeout(resolve, 100))
        } catch {
          refused = true
        }
      }
      await expectKmsError(
        kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 })),
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      )
      assert.ok(readFileSync(path, 'utf8').includes('"bob"'))
    } finally {
      await stopServe(kw)
    }
  })
})
