import assert from 'node:assert/strict'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { lstatSync, mkdtempSync, readlinkSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms'
import { childEnv, REPO_ROOT, startServe, stopServe } from '../support/cli-process.js'

/**
 * Issue 10: what `npm pack` makes of Keyward, installed as users install it
 * (`npm install -g ./keyward-*.tgz`) on a clean prefix, then `keyward --help` and `keyward
 * serve` through the linked bin. SLOW (one to a few minutes): the install compiles
 * better-sqlite3 and pkcs11js; the npm cache makes every download a cache hit after the first.
 */

const ACCESS_KEY_ID = 'AKIAPACKAGETEST00001'
const SECRET = 'packaging-test-secret-key-0000000000000'

/** Why this machine cannot build the native modules, or undefined. */
function toolchainMissing(): string | undefined {
  const missing = ['python3', 'make', 'g++'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  )
  return missing.length
    ? `npm install compiles native modules and needs ${missing.join(', ')}`
    : undefined
}

/** Runs npm with this process's node first on PATH (the bin's `#!/usr/bin/env node` too). */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string },
): SpawnSyncReturns<string> {
  const env = childEnv({
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    // prebuild-install's own setting (as the repository's .prebuild-installrc): compile, never
    // download, so that the test needs only the npm registry, like the rest of the project.
    'prebuild-install_buildFromSource': 'true',
  })
  const result = spawnSync(command, args, { cwd: options.cwd, env, encoding: 'utf8' })
  if (result.status !== 0) {
    assert.fail(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr}`)
  }
  return result
}

describe('npm pack, then npm install -g (slow)', { skip: toolchainMissing() }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'keyward-pack-'))
  const prefix = join(tmp, 'prefix')
  const bin = join(prefix, 'bin', 'keyward')
  let files: string[] = []

  before(() => {
    // --ignore-scripts: the runner runs the tests compiled from this very dist/, which
    // prepack would delete; the build itself is npm test's first step.
    const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      cwd: REPO_ROOT,
    })
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[]
    files = info!.files.map((f) => f.path)
    run(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        // A global install has no package.json whose allowScripts would cover these.
        '--allow-scripts=better-sqlite3,pkcs11js',
        join(tmp, info!.filename),
      ],
      { cwd: tmp },
    )
  })
  after(() => rmSync(tmp, { recursive: true, force: true }))

  it('packs the compiled server and the launcher, and no tests or sources', () => {
    for (const path of [
      'bin/keyward.js',
      'dist/src/cli/main.js',
      'console/dist/index.html',
      'model/aws-regions.json',
      'model/principals.schema.json',
      'package.json',
      'README.md',
    ]) {
      assert.ok(files.includes(path), `${path} is in the package`)
    }
    const unwanted = files.filter(
      (p) =>
        !/^(bin\/|dist\/src\/|console\/dist\/|model\/(aws-regions|principals\.schema)\.json$|package\.json$|README\.md$)/.test(
          p,
        ) || p.endsWith('.ts'),
    )
    assert.deepEqual(unwanted, [])
  })

  it('links the bin, which finds dist/ next to its real path', () => {
    assert.ok(lstatSync(bin).isSymbolicLink())
    assert.equal(
      realpathSync(bin),
      join(realpathSync(prefix), 'lib/node_modules/keyward/bin/keyward.js'),
    )
    assert.ok(!readlinkSync(bin).startsWith(REPO_ROOT))
    const help = run(bin, ['--help'], { cwd: tmp })
    assert.match(help.stdout, /^Usage: keyward <command> \[options\]\n/)
  })

  it('keyward serve starts and serves keys, with the native SQLite compiled for this node', async (t) => {
    const serve = await startServe(
      ['--host', '127.0.0.1', '--port', '0', '--data-dir', join(tmp, 'data')],
      {
        bin,
        cwd: tmp,
        env: {
          PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
          KEYWARD_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
          KEYWARD_ROOT_SECRET_ACCESS_KEY: SECRET,
        },
        timeoutMs: 30_000,
      },
    )
    t.after(() => stopServe(serve))
    const kms = new KMSClient({
      endpoint: serve.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
    })
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    const plaintext = Buffer.from('installed with npm install -g')
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: plaintext }),
    )
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob }))
    assert.deepEqual(Buffer.from(opened.Plaintext!), plaintext)
    kms.destroy()
  })
})
