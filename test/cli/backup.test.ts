import assert from 'node:assert/strict'
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { runKeyward, serveSandbox } from '../support/cli-process.js'

/** `keyward backup` while serving, and `keyward restore` into an empty data directory. */

const run = (args: string[], env: Record<string, string> = {}) =>
  runKeyward(args, { env, timeoutMs: 60_000 })

describe('keyward backup and restore', () => {
  const box = serveSandbox('keyward-backup-')
  after(() => box.cleanup())
  const client = (endpoint: string) => box.devClient(endpoint)

  it('snapshots a serving Keyward; the restored copy decrypts what was encrypted before', async () => {
    const source = box.tempDir()
    const served = await box.serve(['--dev', '--port', '0', '--data-dir', source])
    const kms = client(served.url)
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    const before = await kms.send(
      new EncryptCommand({ KeyId: KeyMetadata!.KeyId!, Plaintext: Buffer.from('before backup') }),
    )
    const backups = box.tempDir()
    const file = join(backups, 'keyward.bak')
    const made = run(['backup', file, '--data-dir', source, '--json'])
    assert.equal(made.status, 0, made.stderr)
    const result = JSON.parse(made.stdout) as Record<string, unknown>
    assert.equal(result.file, file)
    assert.equal(result.bytes, readFileSync(file).length)
    assert.ok(Number(result.pages) > 0)
    assert.match(String(result.rootKeyFingerprint), /^[0-9a-f]{32}$/)
    // Nothing is left behind: no plain snapshot in the data directory, no partial file.
    assert.deepEqual(readdirSync(backups), ['keyward.bak'])
    assert.ok(!readdirSync(source).some((name) => name.includes('backup')))
    // The database is encrypted: not even SQLite's header shows.
    assert.ok(!readFileSync(file).includes(Buffer.from('SQLite format 3')))
    // A key made after the snapshot is not in it.
    const later = await kms.send(new CreateKeyCommand({}))

    const again = run(['backup', file, '--data-dir', source])
    assert.equal(again.status, 1)
    assert.equal(again.stderr, `${file} exists already; a backup never replaces a file.\n`)

    const target = box.tempDir()
    const noKey = run(['restore', file, '--data-dir', target])
    assert.equal(noKey.status, 1)
    assert.equal(
      noKey.stderr,
      `The root key file ${join(target, 'root.key')} is missing: put the root key the backup was made under (fingerprint ${String(result.rootKeyFingerprint)}) there first (mode 0600), or set KEYWARD_ROOT_KEY; a backup never holds its own key.\n`,
    )
    copyFileSync(join(source, 'root.key'), join(target, 'root.key'))
    copyFileSync(join(source, 'principals.json'), join(target, 'principals.json'))
    const restored = run(['restore', file, '--data-dir', target, '--json'])
    assert.equal(restored.status, 0, restored.stderr)
    assert.equal(
      (JSON.parse(restored.stdout) as { database: string }).database,
      join(target, 'keyward.db'),
    )
    const twice = run(['restore', file, '--data-dir', target])
    assert.equal(twice.status, 1)
    assert.equal(
      twice.stderr,
      `${target} already has a database (keyward.db); restore only into a data directory without one.\n`,
    )

    const copy = await box.serve(['--dev', '--port', '0', '--data-dir', target])
    const restoredKms = client(copy.url)
    const { Plaintext } = await restoredKms.send(
      new DecryptCommand({ CiphertextBlob: before.CiphertextBlob! }),
    )
    assert.equal(Buffer.from(Plaintext!).toString(), 'before backup')
    const laterArn = later.KeyMetadata!.Arn!
    await expectKmsError(
      restoredKms.send(new DescribeKeyCommand({ KeyId: laterArn })),
      'NotFoundException',
      `Key '${laterArn}' does not exist`,
    )
  })

  it('refuses a changed backup and one made under another root key, leaving no database', async () => {
    const source = box.tempDir()
    const served = await box.serve(['--dev', '--port', '0', '--data-dir', source])
    await client(served.url).send(new CreateKeyCommand({}))
    const file = join(box.tempDir(), 'keyward.bak')
    assert.equal(run(['backup', file, '--data-dir', source]).status, 0)
    const bytes = readFileSync(file)

    const changed = join(box.tempDir(), 'changed.bak')
    const flipped = Buffer.from(bytes)
    flipped[Math.floor(bytes.length / 2)]! ^= 1
    writeFileSync(changed, flipped)
    const target = box.tempDir()
    copyFileSync(join(source, 'root.key'), join(target, 'root.key'))
    const refused = run(['restore', changed, '--data-dir', target])
    assert.equal(refused.status, 1)
    assert.equal(refused.stderr, `${changed} does not authenticate: it was changed or damaged.\n`)
    assert.deepEqual(
      readdirSync(target).filter((n) => n.startsWith('keyward.db')),
      [],
    )

    const other = box.tempDir()
    writeFileSync(join(other, 'root.key'), Buffer.alloc(32, 9).toString('base64') + '\n', {
      mode: 0o600,
    })
    const wrongKey = run(['restore', file, '--data-dir', other])
    assert.equal(wrongKey.status, 1)
    assert.match(
      wrongKey.stderr,
      /^.* was made under another root key \(fingerprint [0-9a-f]{32}; this one is [0-9a-f]{32}\)\. Restore needs the root key the backup was made with\.\n$/,
    )
    assert.ok(!existsSync(join(other, 'keyward.db')))

    const notBackup = join(box.tempDir(), 'not.bak')
    writeFileSync(notBackup, 'hello')
    const garbage = run(['restore', notBackup, '--data-dir', box.tempDir()])
    assert.equal(garbage.stderr, `${notBackup} is not a Keyward backup (or it is damaged).\n`)
  })
})
