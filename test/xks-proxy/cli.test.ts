import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateCredential } from '../../src/xks-proxy/credentials.js'
import { childEnv, KEYWARD_BIN, REPO_ROOT } from '../support/cli-process.js'
import { createTestPki, type TestPki } from '../support/test-pki.js'
import { xksRequest, type XksTarget } from '../support/xks-client.js'
import { encryptWith, expectXksError } from './support.js'

/** `keyward xks-proxy`: key management, credentials, the console JSON, serve with SIGHUP. */

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [KEYWARD_BIN, 'xks-proxy', ...args], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    encoding: 'utf8',
    timeout: 20_000,
  })

const HEALTH = { requestMetadata: { kmsRequestId: 'r', kmsOperation: 'KmsHealthCheck' } }

describe('keyward xks-proxy CLI', () => {
  let pki: TestPki
  let dir: string
  let config: string
  const first = generateCredential()
  const second = generateCredential()
  const writeConfig = (credentials: Array<typeof first>) =>
    writeFileSync(
      config,
      JSON.stringify({
        port: 0,
        pingPort: 0,
        tls: { certFile: pki.server.certPath, keyFile: pki.server.keyPath },
        dataDir: 'data',
        keyStores: [{ uriPath: '/tenant-a/kms/xks/v1', credentials }],
      }),
    )

  before(() => {
    pki = createTestPki()
    dir = mkdtempSync(join(tmpdir(), 'keyward-xks-cli-'))
    config = join(dir, 'xks.json')
    writeConfig([first])
  })
  after(() => {
    rmSync(dir, { recursive: true, force: true })
    pki?.remove()
  })

  it('prints its help, and refuses unknown commands', () => {
    const help = run(['--help'])
    assert.equal(help.status, 0)
    assert.match(help.stdout, /^Usage: keyward xks-proxy <command>/)
    for (const command of [
      'serve --config',
      'keys create',
      'keys delete',
      'keys disable',
      'keys list',
      'credentials',
      'console-json',
    ]) {
      assert.ok(help.stdout.includes(command), command)
    }
    const top = spawnSync(process.execPath, [KEYWARD_BIN, '--help'], { encoding: 'utf8' })
    assert.match(top.stdout, /xks-proxy +Keyward's XKS proxy/)
    const bad = run(['frobnicate'])
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /unknown command 'frobnicate'/)
    const noConfig = run(['keys', 'list'])
    assert.equal(noConfig.status, 1)
    assert.match(noConfig.stderr, /--config <file> is required/)
  })

  it('credentials makes a pair of the right shape as the console JSON', () => {
    const r = run(['credentials', '--uri-path', '/tenant-a/kms/xks/v1'])
    assert.equal(r.status, 0, r.stderr)
    const json = JSON.parse(r.stdout)
    assert.equal(json.XksProxyUriPath, '/tenant-a/kms/xks/v1')
    assert.match(json.XksProxyAuthenticationCredential.AccessKeyId, /^[A-Z2-7]{20,30}$/)
    assert.match(
      json.XksProxyAuthenticationCredential.RawSecretAccessKey,
      /^[A-Za-z0-9/+=]{43,64}$/,
    )
    assert.equal(run(['credentials', '--uri-path', '/nope']).status, 1)
  })

  it('console-json prints the JSON of a configured credential', () => {
    const r = run(['console-json', '--config', config])
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), {
      XksProxyUriPath: '/tenant-a/kms/xks/v1',
      XksProxyAuthenticationCredential: {
        AccessKeyId: first.accessKeyId,
        RawSecretAccessKey: first.secretAccessKey,
      },
    })
    assert.match(
      run(['console-json', '--config', config, '--access-key-id', 'NOPE']).stderr,
      /has no access key id NOPE/,
    )
  })

  it('keys create, list, disable, enable and delete in the local keystore', () => {
    const ok = (args: string[], out?: string) => {
      const r = run([...args, '--config', config])
      assert.equal(r.status, 0, r.stderr)
      if (out !== undefined) assert.equal(r.stdout, out)
      return r.stdout
    }
    ok(
      ['keys', 'create', 'foo'],
      'Created key foo (AES_256, ENCRYPT,DECRYPT) in the local backend.\n',
    )
    ok(['keys', 'create', 'enc', '--usage', 'ENCRYPT'])
    ok(['keys', 'create', 'none', '--usage', 'none'])
    ok(['keys', 'disable', 'none'], 'Key none is disabled.\n')
    ok(
      ['keys', 'list'],
      'enc\tAES_256\tENCRYPT\tENABLED\nfoo\tAES_256\tENCRYPT,DECRYPT\tENABLED\nnone\tAES_256\t-\tDISABLED\n',
    )
    ok(['keys', 'enable', 'none'])
    assert.deepEqual(
      JSON.parse(ok(['keys', 'list', '--json'])).map((k: { keyStatus: string }) => k.keyStatus),
      ['ENABLED', 'ENABLED', 'ENABLED'],
    )
    ok(['keys', 'delete', 'none'], 'Deleted key none.\n')
    const fails = (args: string[], message: RegExp) => {
      const r = run([...args, '--config', config])
      assert.equal(r.status, 1, r.stdout)
      assert.match(r.stderr, message)
    }
    fails(['keys', 'create', 'foo'], /A key with id foo already exists\./)
    fails(['keys', 'create', 'bad id'], /give a key id of 1 to 128/)
    fails(['keys', 'create', 'x', '--usage', 'SIGN'], /invalid --usage SIGN/)
    fails(['keys', 'delete', 'none'], /no key none/)
    fails(['keys', 'disable', 'ghost'], /no key ghost/)
    // The proxy's files are its user's alone.
    assert.equal(statSync(join(dir, 'data', 'root.key')).mode & 0o077, 0)
    assert.equal(statSync(join(dir, 'data', 'xks-proxy.db')).mode & 0o077, 0)
  })

  it('serve: answers over TLS, re-reads its credentials on SIGHUP, stops on SIGTERM', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [KEYWARD_BIN, 'xks-proxy', '--config', config],
      {
        cwd: REPO_ROOT,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    let err = ''
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s))
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s))
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    )
    try {
      for (let i = 0; i < 200 && !/listening on/.test(out); i++)
        await new Promise((r) => setTimeout(r, 50))
      const m =
        /Keyward XKS proxy listening on https:\/\/127\.0\.0\.1:(\d+) \(key stores \/tenant-a\/kms\/xks\/v1; backend local keystore in .*; Region us-east-1; ping (http:\/\/\S+)\)/.exec(
          out,
        )
      assert.ok(m, `${out}\n${err}`)
      const target = (c: typeof first): XksTarget => ({
        endpoint: `https://localhost:${m[1]}`,
        uriPath: '/tenant-a/kms/xks/v1',
        credential: { AccessKeyId: c.accessKeyId, RawSecretAccessKey: c.secretAccessKey },
        caCertPem: pki.ca.certPem,
      })
      assert.equal((await fetch(m[2]!)).status, 200)
      assert.equal((await xksRequest(target(first), { path: 'health', body: HEALTH })).status, 200)
      const e = await encryptWith(target(first), 'foo', { plaintext: Buffer.from('hello') })
      assert.equal(e.status, 200, e.text)
      expectXksError(
        await xksRequest(target(second), { path: 'health', body: HEALTH }),
        401,
        'AuthenticationFailedException',
      )
      writeConfig([second])
      child.kill('SIGHUP')
      for (let i = 0; i < 100 && !/configuration reloaded/.test(err); i++)
        await new Promise((r) => setTimeout(r, 50))
      assert.equal((await xksRequest(target(second), { path: 'health', body: HEALTH })).status, 200)
      expectXksError(
        await xksRequest(target(first), { path: 'health', body: HEALTH }),
        401,
        'AuthenticationFailedException',
      )
      // The log has the requests, never the plaintext or a secret.
      const encryptLine = err.split('\n').find((l) => l.includes('"operation":"Encrypt"'))
      assert.match(String(encryptLine), /"message":"xks request".*"status":200.*"keyId":"foo"/)
      assert.ok(!err.includes(Buffer.from('hello').toString('base64')))
      assert.ok(!err.includes(first.secretAccessKey) && !err.includes(second.secretAccessKey))
      child.kill('SIGTERM')
      assert.equal(await exited, 0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
