import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { GenerateRandomCommand, KMSClient } from '@aws-sdk/client-kms'
import { Agent } from 'node:http'
import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import type { PrincipalsFile } from '../../src/config/principals.js'
import { expectKmsError } from '../support/assertions.js'
import {
  childEnv,
  KEYWARD_BIN,
  REPO_ROOT,
  runKeyward,
  serveSandbox,
  stopServe,
  type ServeProcess,
} from '../support/cli-process.js'

/**
 * A start that cannot hurt (issue 10): what `keyward serve` refuses, and the tools around it
 * (`keyward credentials`, `--version`, SIGHUP).
 */

const BAD_TOKEN = 'The security token included in the request is invalid.'

/** Runs `keyward <args>` to completion. */
const run = (args: string[], env: Record<string, string> = {}) =>
  runKeyward(args, { env, timeoutMs: 30_000 })

const lastLine = (text: string) => text.trim().split('\n').at(-1)
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Resolves once `pattern` has been printed on stderr `count` times (or rejects after 30 s). */
async function waitForStderr(kw: ServeProcess, pattern: RegExp, count = 1): Promise<void> {
  const global = new RegExp(pattern.source, 'g')
  for (let waited = 0; waited < 30_000; waited += 50) {
    if ((kw.stderr().match(global) ?? []).length >= count) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`not printed: ${pattern}\n${kw.stderr()}`)
}

describe('keyward serve: a start that cannot hurt', () => {
  const box = serveSandbox('keyward-start-', { timeoutMs: 30_000 })
  const { tempDir, serve } = box
  /** A client that opens a new connection per call (so calls reach every worker in turn). */
  const client = (url: string, credentials: { accessKeyId: string; secretAccessKey: string }) => {
    const c = new KMSClient({
      endpoint: url,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
      requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
    })
    return box.track(c)
  }
  const random = (url: string, credentials: { accessKeyId: string; secretAccessKey: string }) =>
    client(url, credentials).send(new GenerateRandomCommand({ NumberOfBytes: 8 }))
  const adminOf = (configPath: string) =>
    (JSON.parse(readFileSync(configPath, 'utf8')) as PrincipalsFile).accounts[0]!.users[0]!
      .accessKeys[0]!
  after(() => box.cleanup())

  it('refuses a second server on one data directory, naming the first one’s pid; after kill -9 a new one starts', async () => {
    const dataDir = join(tempDir(), 'data')
    const first = await serve(['--port', '0', '--data-dir', dataDir])
    const second = run(['serve', '--port', '0', '--data-dir', dataDir])
    assert.equal(second.status, 1, second.stdout)
    assert.match(
      lastLine(second.stderr)!,
      new RegExp(
        `^${escape(`The data directory ${dataDir} is in use by another Keyward server (pid ${first.child.pid}, running since `)}\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z${escape(`; lock ${join(dataDir, 'keyward.lock')}). Two servers over one database would not see each other's changes: stop the other one first, or run one server with --workers.`)}$`,
      ),
    )
    assert.doesNotMatch(second.stdout, /listening/)

    assert.deepEqual(await stopServe(first, 'SIGKILL'), { code: null, signal: 'SIGKILL' })
    const third = await serve(['--port', '0', '--data-dir', dataDir])
    await random(third.url, adminOf(join(dataDir, 'principals.json')))
    assert.deepEqual(await stopServe(third), { code: 0, signal: null })
    // A clean exit leaves the directory free at once.
    const fourth = await serve(['--port', '0', '--data-dir', dataDir])
    assert.deepEqual(await stopServe(fourth), { code: 0, signal: null })
  })

  it('--workers: the primary holds the data directory, its workers share it', async () => {
    const dataDir = join(tempDir(), 'data')
    const kw = await serve(['--dev', '--port', '0', '--workers', '2', '--data-dir', dataDir])
    const second = run(['serve', '--dev', '--port', '0', '--data-dir', dataDir])
    assert.equal(second.status, 1)
    assert.match(lastLine(second.stderr)!, new RegExp(`\\(pid ${kw.child.pid}, running since `))
    assert.deepEqual(await stopServe(kw), { code: 0, signal: null })
  })

  it('a --config that does not exist is an error, and nothing is written there', () => {
    const dir = tempDir()
    const dataDir = join(dir, 'data')
    const config = join(dir, 'principals.jsn')
    const r = run(['serve', '--port', '0', '--data-dir', dataDir, '--config', config])
    assert.equal(r.status, 1)
    assert.equal(
      lastLine(r.stderr),
      `The principals file ${config} (--config / KEYWARD_CONFIG) does not exist. Create it (see the README, "Principals"), or leave --config out to use ${join(dataDir, 'principals.json')}, created on first start.`,
    )
    assert.equal(existsSync(config), false, 'no admin key written to a mistyped path')
    assert.equal(existsSync(dataDir), false)
    const byEnv = run(['serve', '--port', '0', '--data-dir', dataDir], { KEYWARD_CONFIG: config })
    assert.equal(byEnv.status, 1)
    assert.match(lastLine(byEnv.stderr)!, /^The principals file .* does not exist\./)
    assert.equal(existsSync(config), false)
  })

  it('start-up errors name their file: a database that is not one', async () => {
    const dataDir = tempDir()
    const db = join(dataDir, 'keyward.db')
    writeFileSync(db, 'this is not a SQLite database, but it is long enough to be read'.repeat(4))
    const r = run(['serve', '--port', '0', '--data-dir', dataDir])
    assert.equal(r.status, 1)
    assert.equal(lastLine(r.stderr), `${db}: file is not a database`)
    await assert.rejects(openSqliteKeyStore(db), { message: `${db}: file is not a database` })
  })

  it('start-up errors name their file: a root key of the wrong size, in the file or the variable', () => {
    const dataDir = tempDir()
    const rootKey = join(dataDir, 'root.key')
    writeFileSync(rootKey, Buffer.alloc(16, 1).toString('base64'), { mode: 0o600 })
    const r = run(['serve', '--port', '0', '--data-dir', dataDir])
    assert.equal(r.status, 1)
    assert.equal(
      lastLine(r.stderr),
      `${rootKey}: the root key must be exactly 32 bytes (base64 of 32 random bytes); it holds 16.`,
    )
    const byEnv = run(['serve', '--port', '0', '--data-dir', tempDir()], {
      KEYWARD_ROOT_KEY: Buffer.alloc(31, 1).toString('base64'),
    })
    assert.equal(byEnv.status, 1)
    assert.equal(
      lastLine(byEnv.stderr),
      'KEYWARD_ROOT_KEY: the root key must be exactly 32 bytes (base64 of 32 random bytes); it holds 31.',
    )
  })

  it('refuses a principals file others can read unless --allow-insecure-permissions, which warns', async () => {
    const dataDir = join(tempDir(), 'data')
    const first = await serve(['--port', '0', '--data-dir', dataDir])
    assert.deepEqual(await stopServe(first), { code: 0, signal: null })
    const config = join(dataDir, 'principals.json')
    chmodSync(config, 0o644)
    const problem = `The principals file ${config} can be read or written by other users (mode 0644); run: chmod 600 ${config}`
    const refused = run(['serve', '--port', '0', '--data-dir', dataDir])
    assert.equal(refused.status, 1)
    assert.equal(
      lastLine(refused.stderr),
      `${problem}. Refusing to start; --allow-insecure-permissions (KEYWARD_ALLOW_INSECURE_PERMISSIONS=1) starts anyway.`,
    )
    for (const [args, env] of [
      [['--allow-insecure-permissions'], {}],
      [[], { KEYWARD_ALLOW_INSECURE_PERMISSIONS: '1' }],
    ] as const) {
      const kw = await serve(['--port', '0', '--data-dir', dataDir, ...args], env)
      assert.ok(
        kw.stderr().includes(`${problem} (started anyway: --allow-insecure-permissions).`),
        kw.stderr(),
      )
      assert.deepEqual(await stopServe(kw), { code: 0, signal: null })
    }
  })

  it('prints the admin access key line on every start; keyward credentials prints exports for a shell', async () => {
    const dataDir = join(tempDir(), 'data')
    const config = join(dataDir, 'principals.json')
    const first = await serve(['--port', '0', '--data-dir', dataDir])
    assert.deepEqual(await stopServe(first), { code: 0, signal: null })
    const admin = adminOf(config)
    const again = await serve(['--port', '0', '--data-dir', dataDir])
    assert.ok(
      again
        .stdout()
        .includes(
          `Admin access key ${admin.accessKeyId} for account 111122223333; its secret is in ${config} ('keyward credentials' prints both for a shell).\n`,
        ),
      again.stdout(),
    )
    assert.ok(!again.stdout().includes(admin.secretAccessKey), 'the secret is not printed')

    // While the server runs: the exports, and a shell that evaluates them reaches the server.
    const port = new URL(again.url).port
    const r = run(['credentials', '--data-dir', dataDir, '--port', port])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(
      r.stdout,
      [
        `export AWS_ACCESS_KEY_ID=${admin.accessKeyId}`,
        `export AWS_SECRET_ACCESS_KEY=${admin.secretAccessKey}`,
        'export AWS_DEFAULT_REGION=us-east-1',
        `export AWS_ENDPOINT_URL_KMS=http://127.0.0.1:${port}`,
        `export AWS_ENDPOINT_URL_STS=http://127.0.0.1:${port}`,
        '',
      ].join('\n'),
    )
    const shell = spawnSync(
      'sh',
      ['-c', `eval "$(${process.execPath} ${KEYWARD_BIN} credentials --port ${port})"; env`],
      { env: childEnv({ KEYWARD_DATA_DIR: dataDir }), encoding: 'utf8' },
    )
    assert.equal(shell.status, 0, shell.stderr)
    assert.match(shell.stdout, new RegExp(`^AWS_SECRET_ACCESS_KEY=${admin.secretAccessKey}$`, 'm'))
    assert.match(shell.stdout, new RegExp(`^AWS_ENDPOINT_URL_KMS=http://127.0.0.1:${port}$`, 'm'))
    await random(again.url, admin)
    assert.deepEqual(await stopServe(again), { code: 0, signal: null })
  })

  it('keyward credentials: the first regions entry, the root credential, shell quoting, no endpoint for port 0', () => {
    const dir = tempDir()
    const config = join(dir, 'p.json')
    const secret = "it's a $ecret `x`"
    const file: PrincipalsFile = {
      regions: ['eu-west-1', 'us-east-1'],
      accounts: [
        {
          id: '111122223333',
          users: [
            { name: 'alice', accessKeys: [{ accessKeyId: 'AKIAALICE', secretAccessKey: 'a' }] },
            { name: 'admin', accessKeys: [{ accessKeyId: 'AKIAADMIN', secretAccessKey: secret }] },
          ],
        },
      ],
    }
    writeFileSync(config, JSON.stringify(file), { mode: 0o600 })
    const r = run(['credentials', '--config', config, '--port', '0', '--data-dir', dir])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(
      r.stdout,
      [
        'export AWS_ACCESS_KEY_ID=AKIAADMIN',
        `export AWS_SECRET_ACCESS_KEY='it'\\''s a $ecret \`x\`'`,
        'export AWS_DEFAULT_REGION=eu-west-1',
        '',
      ].join('\n'),
    )
    const shell = spawnSync('sh', ['-c', `${r.stdout}\nprintf %s "$AWS_SECRET_ACCESS_KEY"`], {
      encoding: 'utf8',
    })
    assert.equal(shell.stdout, secret)
    const root = run(['credentials', '--config', config, '--host', '0.0.0.0', '--port', '8000'], {
      KEYWARD_ROOT_ACCESS_KEY_ID: 'AKIAFROMENV',
      KEYWARD_ROOT_SECRET_ACCESS_KEY: 'envsecret',
    })
    assert.equal(root.status, 0, root.stderr)
    assert.match(root.stdout, /^export AWS_ACCESS_KEY_ID=AKIAFROMENV\n/)
    assert.match(root.stdout, /\nexport AWS_SECRET_ACCESS_KEY=envsecret\n/)
    assert.match(root.stdout, /\nexport AWS_ENDPOINT_URL_KMS=http:\/\/127\.0\.0\.1:8000\n/)
    assert.match(root.stdout, /\nexport AWS_ENDPOINT_URL_STS=http:\/\/127\.0\.0\.1:8000\n$/)
    const none = run(['credentials', '--data-dir', join(dir, 'nothing-here')])
    assert.equal(none.status, 1)
    assert.equal(
      lastLine(none.stderr),
      `There is no principals file at ${join(dir, 'nothing-here', 'principals.json')} yet: 'keyward serve' creates it on first start.`,
    )
  })

  it('keyward --version prints the package version', () => {
    const r = run(['--version'])
    assert.equal(r.status, 0)
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string
    }
    assert.equal(r.stdout, `keyward ${version}\n`)
  })

  for (const workers of [1, 2]) {
    it(`SIGHUP rereads the principals file; a broken one is reported and the old one kept (--workers ${workers})`, async () => {
      const dataDir = join(tempDir(), 'data')
      const config = join(dataDir, 'principals.json')
      const kw = await serve(['--port', '0', '--data-dir', dataDir, '--workers', String(workers)])
      const admin = adminOf(config)
      const bob = { accessKeyId: 'AKIABOBADDEDBYHUP001', secretAccessKey: 'bob-secret' }
      await expectKmsError(random(kw.url, bob), 'UnrecognizedClientException', BAD_TOKEN)

      const file = JSON.parse(readFileSync(config, 'utf8')) as PrincipalsFile
      const withBob: PrincipalsFile = {
        accounts: [
          {
            id: '111122223333',
            // A copy: the SDK adds a `$source` member to the credentials object it was given,
            // which the principals file's schema refuses as an unknown member.
            users: [
              ...file.accounts[0]!.users,
              {
                name: 'bob',
                accessKeys: [
                  { accessKeyId: bob.accessKeyId, secretAccessKey: bob.secretAccessKey },
                ],
              },
            ],
          },
        ],
      }
      writeFileSync(config, JSON.stringify(withBob), { mode: 0o600 })
      kw.child.kill('SIGHUP')
      await waitForStderr(kw, /"message":"principals reloaded"/, workers)
      // Every worker: each call opens a new connection, handed to the workers in turn.
      for (let i = 0; i < 2 * workers; i++) {
        await random(kw.url, bob)
        await random(kw.url, admin)
      }

      writeFileSync(config, '{"accounts": [', { mode: 0o600 })
      kw.child.kill('SIGHUP')
      await waitForStderr(
        kw,
        /"message":"principals not reloaded; the previous ones stay in force"/,
        workers,
      )
      assert.ok(
        kw.stderr().includes(`"cause":"${config}: not valid JSON (Unexpected end of JSON input)"`),
        kw.stderr(),
      )
      for (let i = 0; i < 2 * workers; i++) {
        await random(kw.url, bob)
        await random(kw.url, admin)
      }
      assert.equal(kw.child.exitCode, null, 'still running')
      assert.ok(!kw.stderr().includes(bob.secretAccessKey), 'no secret in the log')
      assert.deepEqual(await stopServe(kw), { code: 0, signal: null })
    })
  }
})
