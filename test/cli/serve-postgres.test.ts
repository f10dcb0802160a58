import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { runKeyward, serveSandbox } from '../support/cli-process.js'
import { freshSchema, PG_SKIP } from '../support/postgres.js'

/** `keyward serve --store postgres://…` (issue 13): the embedded preset over PostgreSQL. */

const ROOT_KEY = Buffer.alloc(32, 3).toString('base64')
const OTHER_ROOT_KEY = Buffer.alloc(32, 4).toString('base64')

/** Runs `keyward <args>` to completion. */
const run = (args: string[], env: Record<string, string> = {}) =>
  runKeyward(args, { env, timeoutMs: 60_000 })

const lastLine = (text: string) => text.trim().split('\n').at(-1)

describe('keyward serve --store', () => {
  const box = serveSandbox('keyward-pg-serve-', { timeoutMs: 45_000 })
  const drops: Array<() => Promise<void>> = []
  after(async () => {
    await box.cleanup()
    for (const drop of drops) await drop().catch(() => undefined)
  })

  it('refuses a store that is not a PostgreSQL URL, before creating anything', () => {
    const dir = join(box.tempDir(), 'data')
    for (const [args, env] of [
      [['--store', 'mysql://db/keyward'], {}],
      [[], { KEYWARD_STORE: 'sqlite:keyward.db' }],
    ] as const) {
      const result = run(['serve', '--dev', '--port', '0', '--data-dir', dir, ...args], env)
      assert.equal(result.status, 1)
      assert.equal(
        lastLine(result.stderr),
        '--store (KEYWARD_STORE) must be a postgres:// or postgresql:// URL; leave it out for SQLite in the data directory',
      )
    }
    assert.equal(existsSync(dir), false)
  })

  it(
    'serves keys from PostgreSQL, and refuses a node whose root key is not the database one',
    { skip: PG_SKIP, timeout: 120_000 },
    async () => {
      const { url, drop } = await freshSchema()
      drops.push(drop)
      const first = await box.serve(
        ['--dev', '--port', '0', '--data-dir', box.tempDir(), '--store', url],
        { KEYWARD_ROOT_KEY: ROOT_KEY },
      )
      const kms = box.track(
        new KMSClient({
          endpoint: first.url,
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKIAANY', secretAccessKey: 'any' },
          maxAttempts: 1,
        }),
      )
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
      // Nothing of the store is in the data directory: the key is in PostgreSQL.
      const second = await box.serve(['--dev', '--port', '0', '--data-dir', box.tempDir()], {
        KEYWARD_ROOT_KEY: ROOT_KEY,
        KEYWARD_STORE: url,
      })
      const other = box.track(
        new KMSClient({
          endpoint: second.url,
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKIAANY', secretAccessKey: 'any' },
          maxAttempts: 1,
        }),
      )
      const described = await other.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))
      assert.equal(described.KeyMetadata?.Arn, KeyMetadata!.Arn)

      const refused = run(['serve', '--dev', '--port', '0', '--data-dir', box.tempDir()], {
        KEYWARD_ROOT_KEY: OTHER_ROOT_KEY,
        KEYWARD_STORE: url,
      })
      assert.equal(refused.status, 1)
      assert.equal(
        lastLine(refused.stderr),
        `The root key (KEYWARD_ROOT_KEY) does not match the one the database ${url} was created with; refusing to start (the keys would be unreadable).`,
      )
    },
  )
})
