import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  EncryptCommand,
  GetKeyLastUsageCommand,
  KMSClient,
} from '@aws-sdk/client-kms'
import { REPO_ROOT, runKeyward, serveSandbox, stopServe } from '../support/cli-process.js'

const ADMIN = {
  accessKeyId: 'AKIAAUDITCLITEST0001',
  secretAccessKey: 'audit-cli-secret-0000000000000000000001',
}

/** Runs `keyward <args>` to completion. */
const run = (args: string[]) => runKeyward(args, { timeoutMs: 20_000 })

describe('keyward serve writes the audit trail; keyward audit verify and search read it', () => {
  const box = serveSandbox('keyward-audit-cli-')
  after(() => box.cleanup())

  it('records every call, verifies intact, names a changed line, and finds events', async () => {
    const dataDir = box.tempDir()
    const serve = await box.serve(['--port', '0', '--data-dir', dataDir], {
      KEYWARD_ROOT_ACCESS_KEY_ID: ADMIN.accessKeyId,
      KEYWARD_ROOT_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
    })
    const kms = box.track(
      new KMSClient({
        endpoint: serve.url,
        region: 'us-east-1',
        credentials: ADMIN,
        maxAttempts: 1,
      }),
    )
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
    await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }))
    const usage = await kms.send(new GetKeyLastUsageCommand({ KeyId: key.KeyId }))
    // The signing key is the server's own, private to it.
    assert.equal(statSync(join(dataDir, 'audit-signing.key')).mode & 0o777, 0o600)
    // SIGTERM: the last events are written and a digest closes the trail.
    await stopServe(serve, 'SIGTERM')

    const verified = run(['audit', 'verify', '--data-dir', dataDir, '--json'])
    assert.equal(verified.status, 0, verified.stderr + verified.stdout)
    const report = JSON.parse(verified.stdout) as {
      ok: boolean
      streams: Array<{ stream: string; lines: number; digests: number; undigested: string[] }>
    }
    assert.equal(report.ok, true)
    assert.equal(report.streams[0]!.stream, 'main')
    assert.equal(report.streams[0]!.lines, 4)
    assert.equal(report.streams[0]!.digests, 1)
    assert.deepEqual(report.streams[0]!.undigested, [])

    const found = run(['audit', 'search', '--data-dir', dataDir, '--key', key.KeyId!, '--json'])
    assert.equal(found.status, 0, found.stderr)
    const records = (JSON.parse(found.stdout) as { Records: Array<Record<string, unknown>> })
      .Records
    assert.deepEqual(
      records.map((r) => r.eventName),
      ['Encrypt', 'GetKeyLastUsage'],
    )
    assert.equal(usage.KeyLastUsage?.CloudTrailEventId, records[0]!.eventID)
    const byPrincipal = run([
      'audit',
      'search',
      '--data-dir',
      dataDir,
      '--principal',
      ADMIN.accessKeyId,
      '--since',
      '2000-01-01',
    ])
    assert.equal(byPrincipal.stdout.trim().split('\n').length, 3)
    assert.match(
      byPrincipal.stdout,
      / CreateKey OK arn:aws:iam::111122223333:user\/admin 127\.0\.0\.1 /,
    )

    const stream = join(dataDir, 'audit', 'main')
    const file = join(
      stream,
      readdirSync(stream).find((n) => n.endsWith('.jsonl'))!,
    )
    const lines = readFileSync(file, 'utf8').split('\n')
    lines[2] = lines[2]!.replace('"Encrypt"', '"Decrypt"')
    writeFileSync(file, lines.join('\n'))
    const tampered = run(['audit', 'verify', '--data-dir', dataDir])
    assert.equal(tampered.status, 1)
    assert.equal(
      tampered.stdout,
      'stream main: FAILED (1 file(s), 4 line(s), 1 digest(s))\n' +
        "  changed: line 3 of keyward-audit-00000001.jsonl was changed (the next line's hash of it does not match)\n" +
        '  changed: keyward-audit-00000001.jsonl does not match its signed hash in keyward-digest-00000001.json (changed up to event 4)\n',
    )
  })

  it('refuses bad times and a missing trail, naming them', () => {
    const dataDir = box.tempDir()
    const missing = run(['audit', 'verify', '--data-dir', dataDir])
    assert.equal(missing.status, 1)
    assert.match(
      missing.stderr,
      new RegExp(`There is no audit trail at ${join(dataDir, 'audit')}\\.`),
    )
    const bad = run([
      'audit',
      'search',
      '--data-dir',
      REPO_ROOT,
      '--audit-dir',
      REPO_ROOT,
      '--since',
      'yesterday',
    ])
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /invalid --since: yesterday \(ISO 8601, e\.g\. 2026-12-06T01:00:00Z\)/)
  })
})
