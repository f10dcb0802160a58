import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateRandomCommand,
  KMSClient,
} from '@aws-sdk/client-kms'
import { Agent } from 'node:http'
import { main } from '../../src/cli/main.js'
import type { PrincipalsFile } from '../../src/config/principals.js'
import { expectKmsError } from '../support/assertions.js'
import {
  childEnv,
  KEYWARD_BIN,
  REPO_ROOT,
  serveSandbox,
  stopServe,
} from '../support/cli-process.js'

/** The `keyward` command line: help, refusals, environment variables and the first start. */

const FLAGS = [
  '--host',
  '--port',
  '--data-dir',
  '--config',
  '--dev',
  '--force-dev',
  '--headers-timeout',
  '--request-timeout',
  '--keep-alive-timeout',
  '--max-connections',
  '--metrics-port',
  '--metrics-token',
  '--log-level',
  '--audit-dir',
  '--audit-required',
  '--no-audit',
  '--help',
]
const ENV_VARS = [
  'KEYWARD_HOST',
  'KEYWARD_PORT',
  'KEYWARD_DATA_DIR',
  'KEYWARD_CONFIG',
  'KEYWARD_DEV',
  'KEYWARD_FORCE_DEV',
  'KEYWARD_ROOT_KEY',
  'KEYWARD_ROOT_ACCESS_KEY_ID',
  'KEYWARD_ROOT_SECRET_ACCESS_KEY',
  'KEYWARD_HEADERS_TIMEOUT',
  'KEYWARD_REQUEST_TIMEOUT',
  'KEYWARD_KEEP_ALIVE_TIMEOUT',
  'KEYWARD_MAX_CONNECTIONS',
  'KEYWARD_LOG_LEVEL',
  'KEYWARD_METRICS_PORT',
  'KEYWARD_METRICS_TOKEN',
  'KEYWARD_AUDIT_DIR',
  'KEYWARD_AUDIT_REQUIRED',
  'KEYWARD_AUDIT',
]
const BAD_SIGNATURE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'
const refusedDev = (host: string) =>
  `refusing --dev on non-loopback host ${host}: dev mode accepts any secret. Add --force-dev if you really mean it.`

/** Runs `keyward <args>` to completion. */
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [KEYWARD_BIN, ...args], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    encoding: 'utf8',
    timeout: 20_000,
  })

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

describe('keyward CLI', () => {
  const box = serveSandbox('keyward-cli-')
  const { tempDir, serve } = box
  const client = (url: string, credentials: { accessKeyId: string; secretAccessKey: string }) => {
    const c = new KMSClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 })
    return box.track(c)
  }
  after(() => box.cleanup())

  describe('help', () => {
    it('keyward --help names the serve command', () => {
      const r = run(['--help'])
      assert.equal(r.status, 0, r.stderr)
      assert.match(r.stdout, /^Usage: keyward <command> \[options\]/)
      assert.match(r.stdout, /\n {2}serve {8}Start the KMS server/)
    })

    it('keyward serve --help names every flag and environment variable', () => {
      const r = run(['serve', '--help'])
      assert.equal(r.status, 0, r.stderr)
      for (const word of [...FLAGS, '-h', ...ENV_VARS]) {
        assert.ok(r.stdout.includes(word), `serve --help mentions ${word}`)
      }
    })

    it('keyward without a command prints the usage and fails; an unknown command fails', async (t) => {
      const out: string[] = []
      t.mock.method(process.stdout, 'write', (s: string) => out.push(s))
      t.mock.method(process.stderr, 'write', (s: string) => out.push(s))
      assert.equal(await main([]), 1)
      assert.match(out.join(''), /^Usage: keyward <command>/)
      out.length = 0
      assert.equal(await main(['frobnicate']), 1)
      assert.match(out.join(''), /^keyward: unknown command 'frobnicate'\n\nUsage: keyward/)
    })
  })

  describe('refusals (before anything is created)', () => {
    it('refuses --dev on 0.0.0.0 without --force-dev, exit code 1', () => {
      const dataDir = join(tempDir(), 'never')
      const r = run(['serve', '--dev', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir])
      assert.equal(r.status, 1)
      assert.equal(r.stderr.trim().split('\n').at(-1), refusedDev('0.0.0.0'))
      assert.equal(existsSync(dataDir), false)
    })

    it('refuses dev mode on other non-loopback hosts, by flags or environment', async () => {
      const dataDir = join(tempDir(), 'never')
      for (const host of ['::', '192.0.2.10', 'keyward.example.com']) {
        await assert.rejects(main(['serve', '--dev', '--host', host, '--data-dir', dataDir], {}), {
          message: refusedDev(host),
        })
      }
      await assert.rejects(
        main(['serve'], { KEYWARD_DEV: '1', KEYWARD_HOST: '0.0.0.0', KEYWARD_DATA_DIR: dataDir }),
        { message: refusedDev('0.0.0.0') },
      )
      assert.equal(existsSync(dataDir), false)
    })

    it('refuses an unknown flag', async () => {
      await assert.rejects(main(['serve', '--bogus'], {}), /Unknown option '--bogus'/)
    })

    it('refuses a port that is not a port', async () => {
      for (const port of ['65536', '-1', 'abc', '80x', '1e3', ' 80']) {
        await assert.rejects(main(['serve', `--port=${port}`], {}), {
          message: `invalid port: ${port}`,
        })
      }
      await assert.rejects(main(['serve'], { KEYWARD_PORT: 'http' }), {
        message: 'invalid port: http',
      })
    })

    it('refuses a key cache size that is not a whole number of megabytes in range', async () => {
      for (const value of ['0', '-1', 'abc', '65537', '1.5', ' 5']) {
        await assert.rejects(main(['serve', `--key-cache-mb=${value}`], {}), {
          message: `invalid --key-cache-mb: ${value}`,
        })
      }
      await assert.rejects(main(['serve'], { KEYWARD_KEY_CACHE_MB: '0' }), {
        message: 'invalid --key-cache-mb: 0',
      })
    })

    it('refuses HTTP limits that are not numbers in range, and headers slower than requests', async () => {
      for (const value of ['0', '-1', 'abc', '3601', '1e3', ' 5']) {
        await assert.rejects(main(['serve', `--headers-timeout=${value}`], {}), {
          message: `invalid --headers-timeout: ${value}`,
        })
      }
      await assert.rejects(main(['serve'], { KEYWARD_MAX_CONNECTIONS: '0' }), {
        message: 'invalid --max-connections: 0',
      })
      await assert.rejects(main(['serve', '--headers-timeout', '40'], {}), {
        message: '--headers-timeout must not be longer than --request-timeout',
      })
    })

    it('refuses half a root credential', async () => {
      const dataDir = join(tempDir(), 'never')
      await assert.rejects(
        main(['serve', '--port', '0', '--data-dir', dataDir], {
          KEYWARD_ROOT_ACCESS_KEY_ID: 'AKIAONLYTHEIDISSET01',
        }),
        {
          message:
            'KEYWARD_ROOT_ACCESS_KEY_ID and KEYWARD_ROOT_SECRET_ACCESS_KEY must be set together.',
        },
      )
      assert.equal(existsSync(dataDir), false)
    })
  })

  describe('first start', () => {
    it('creates principals.json (0600), prints the access key ID and where the secret is, and checks SigV4', async () => {
      const dataDir = join(tempDir(), 'data')
      const kw = await serve(['--port', '0', '--data-dir', dataDir])
      const configPath = join(dataDir, 'principals.json')
      assert.equal(statSync(configPath).mode & 0o777, 0o600)
      assert.equal(statSync(join(dataDir, 'root.key')).mode & 0o777, 0o600)
      assert.equal(statSync(dataDir).mode & 0o777, 0o700)
      assert.equal(statSync(join(dataDir, 'keyward.db')).mode & 0o777, 0o600)

      const file = JSON.parse(readFileSync(configPath, 'utf8')) as PrincipalsFile
      const key = file.accounts[0]!.users[0]!.accessKeys[0]!
      assert.equal(file.accounts[0]!.id, '111122223333')
      assert.match(key.accessKeyId, /^AKIA[A-Z2-7]{16}$/)
      assert.equal(key.secretAccessKey.length, 40)
      assert.ok(
        kw
          .stdout()
          .includes(
            `Created admin access key ${key.accessKeyId} for account 111122223333; its secret is in ${configPath} (mode 0600).`,
          ),
        kw.stdout(),
      )
      assert.ok(!kw.stdout().includes(key.secretAccessKey), 'the secret is not printed')
      assert.ok(!kw.stderr().includes(key.secretAccessKey), 'the secret is not logged')
      assert.doesNotMatch(kw.stdout(), /DEV MODE/)

      const { KeyMetadata } = await client(kw.url, key).send(new CreateKeyCommand({}))
      assert.equal(KeyMetadata?.AWSAccountId, '111122223333')
      await expectKmsError(
        client(kw.url, { accessKeyId: key.accessKeyId, secretAccessKey: 'x'.repeat(40) }).send(
          new GenerateRandomCommand({ NumberOfBytes: 8 }),
        ),
        'InvalidSignatureException',
        BAD_SIGNATURE,
      )
      await expectKmsError(
        client(kw.url, { accessKeyId: 'AKIANOTAKEYOFTHISONE', secretAccessKey: 'x' }).send(
          new GenerateRandomCommand({ NumberOfBytes: 8 }),
        ),
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      )
      assert.deepEqual(await stopServe(kw), { code: 0, signal: null })
    })

    it('takes the first admin key from KEYWARD_ROOT_ACCESS_KEY_ID / KEYWARD_ROOT_SECRET_ACCESS_KEY', async () => {
      const dataDir = join(tempDir(), 'data')
      const root = {
        accessKeyId: 'AKIAROOTFROMENV00001',
        secretAccessKey: 'root-secret-from-the-environment-0000001',
      }
      const kw = await serve(['--port', '0', '--data-dir', dataDir], {
        KEYWARD_ROOT_ACCESS_KEY_ID: root.accessKeyId,
        KEYWARD_ROOT_SECRET_ACCESS_KEY: root.secretAccessKey,
      })
      const file = JSON.parse(
        readFileSync(join(dataDir, 'principals.json'), 'utf8'),
      ) as PrincipalsFile
      assert.deepEqual(file.accounts[0]!.users[0]!.accessKeys, [root])
      assert.match(kw.stdout(), new RegExp(`Created admin access key ${root.accessKeyId} `))
      assert.ok(!kw.stdout().includes(root.secretAccessKey), 'the secret is not printed')

      const out = await client(kw.url, root).send(new GenerateRandomCommand({ NumberOfBytes: 8 }))
      assert.equal(out.Plaintext?.length, 8)
      await expectKmsError(
        client(kw.url, { ...root, secretAccessKey: 'wrong' }).send(
          new GenerateRandomCommand({ NumberOfBytes: 8 }),
        ),
        'InvalidSignatureException',
        BAD_SIGNATURE,
      )
      assert.deepEqual(await stopServe(kw), { code: 0, signal: null })
    })
  })

  describe('environment variables', () => {
    it('KEYWARD_PORT, KEYWARD_DATA_DIR and KEYWARD_DEV configure serve; empty ones are unset', async () => {
      const dataDir = join(tempDir(), 'from-env')
      const port = await freePort()
      const kw = await serve([], {
        KEYWARD_PORT: String(port),
        KEYWARD_DATA_DIR: dataDir,
        KEYWARD_DEV: '1',
        // As `KEYWARD_HOST=` in a compose file: the default loopback host, not "".
        KEYWARD_HOST: '',
        KEYWARD_CONFIG: '',
      })
      assert.equal(kw.url, `http://127.0.0.1:${port}`)
      assert.match(kw.stdout(), /DEV MODE: any secret accepted/)
      for (const file of ['keyward.db', 'root.key', 'principals.json']) {
        assert.ok(existsSync(join(dataDir, file)), `${file} in KEYWARD_DATA_DIR`)
      }
      const kms = client(kw.url, { accessKeyId: 'AKIAANYTHINGATALL001', secretAccessKey: 'any' })
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
      assert.equal(KeyMetadata?.AWSAccountId, '111122223333')
      assert.deepEqual(await stopServe(kw), { code: 0, signal: null })
    })

    it('--workers 2: every worker sees a change acknowledged by another at once; SIGTERM stops all', async () => {
      const kw = await serve(['--dev', '--port', '0', '--workers', '2', '--data-dir', tempDir()])
      assert.match(kw.stdout(), /2 workers/)
      const credentials = { accessKeyId: 'AKIAANYTHINGATALL001', secretAccessKey: 'any' }
      // A client per call without keep-alive: node:cluster hands each new connection to the
      // next worker in turn, so consecutive calls alternate between the two processes.
      const fresh = () => {
        const c = new KMSClient({
          endpoint: kw.url,
          region: 'us-east-1',
          credentials,
          maxAttempts: 1,
          requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
        })
        box.track(c)
        return c
      }
      const { KeyMetadata } = await fresh().send(new CreateKeyCommand({}))
      const KeyId = KeyMetadata!.KeyId!
      const encrypt = () => fresh().send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }))
      for (let round = 0; round < 5; round++) {
        await fresh().send(new DisableKeyCommand({ KeyId }))
        for (let i = 0; i < 4; i++) {
          await expectKmsError(encrypt(), 'DisabledException', `${KeyMetadata!.Arn} is disabled.`)
        }
        await fresh().send(new EnableKeyCommand({ KeyId }))
        for (let i = 0; i < 4; i++) await encrypt()
      }
      const workerPids = spawnSync('pgrep', ['-P', String(kw.child.pid)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter(Boolean)
      assert.equal(workerPids.length, 2, 'two worker processes')
      assert.deepEqual(await stopServe(kw), { code: 0, signal: null })
      for (const pid of workerPids) {
        assert.throws(() => process.kill(Number(pid), 0), 'worker exited with the primary')
      }
    })
  })
})
