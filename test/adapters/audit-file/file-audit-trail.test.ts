import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateKeyCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms'
import {
  AUDIT_UNWRITABLE,
  FileAuditTrail,
} from '../../../src/adapters/audit-file/file-audit-trail.js'
import { ManualClock } from '../../../src/ports/clock.js'
import type { AuditEvent } from '../../../src/ports/audit-sink.js'
import { CapturingLogger } from '../../support/keyward-server.js'
import { verifyAuditDir } from '../../../src/adapters/audit-file/verify.js'
import { chainLines, sha256 } from '../../../src/adapters/audit-file/format.js'
import { expectKmsError } from '../../support/assertions.js'
import { records, startAudited, type AuditedServer } from './trail-support.js'

/** The files of the stream, by kind, sorted. */
const filesOf = (dir: string, suffix: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith(suffix))
    .sort()

/** A copy of an audit directory to tamper with, leaving the original intact. */
function copyOf(s: AuditedServer, name: string): { dir: string; stream: string } {
  const dir = join(s.auditDir, '..', `tampered-${name}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'main'), { recursive: true })
  for (const f of readdirSync(s.streamDir)) {
    writeFileSync(join(dir, 'main', f), readFileSync(join(s.streamDir, f)))
  }
  return { dir, stream: join(dir, 'main') }
}

const linesOf = (path: string) => readFileSync(path, 'utf8').split('\n').slice(0, -1)
const writeLines = (path: string, lines: string[]) => writeFileSync(path, lines.join('\n') + '\n')

describe('the file audit trail: chain, digests, rotation', () => {
  let s: AuditedServer
  let verify: (dir: string) => ReturnType<typeof verifyAuditDir>

  before(async () => {
    // Files of ~4 KiB: a few dozen calls make several files, each closed with a digest.
    s = await startAudited({ maxFileBytes: 4096 })
    verify = (dir) => verifyAuditDir(dir, { publicKey: createPublicKey(s.signingKey) })
    const kms = s.kw.client()
    const key = await kms.send(new CreateKeyCommand({}))
    for (let i = 0; i < 30; i++) {
      await kms.send(
        new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId, Plaintext: Buffer.from('x') }),
      )
      // One batch per call, whatever the machine's speed: files rotate between batches.
      await s.trail.flush()
    }
    await kms.send(new ListKeysCommand({}))
    await s.trail.flush()
  })
  after(() => s.close())

  it('writes one record per call, in order, and rotates files by size with a digest each', async () => {
    const names = (await records(s.streamDir)).map((r) => r.eventName)
    assert.deepEqual(names, ['CreateKey', ...Array(30).fill('Encrypt'), 'ListKeys'])
    const trailFiles = filesOf(s.streamDir, '.jsonl')
    assert.ok(trailFiles.length >= 3, `${trailFiles.length} files`)
    // A file is closed by the first batch that finds it at the limit.
    for (const name of trailFiles.slice(0, -1)) {
      assert.ok(readFileSync(join(s.streamDir, name)).length >= 4096, name)
    }
    // One digest per rotation, each naming the closed file.
    const digests = filesOf(s.streamDir, '.json')
    assert.ok(digests.length >= trailFiles.length - 1)
    const report = verify(s.auditDir)
    assert.equal(report.ok, true, JSON.stringify(report))
    assert.equal(report.streams[0]!.lines, 32 + trailFiles.length)
    assert.deepEqual(report.streams[0]!.undigested, [trailFiles.at(-1)])
  })

  it('names a changed line', () => {
    const t = copyOf(s, 'changed')
    const file = join(t.stream, filesOf(t.stream, '.jsonl')[1]!)
    const lines = linesOf(file)
    lines[2] = lines[2]!.replace('"Encrypt"', '"Decrypt"')
    writeLines(file, lines)
    const problem = verify(t.dir).streams[0]!.problems[0]!
    assert.equal(problem.kind, 'changed')
    assert.equal(problem.line, 3)
    assert.equal(problem.file, filesOf(t.stream, '.jsonl')[1])
  })

  it('names a removed line', () => {
    const t = copyOf(s, 'removed')
    const file = join(t.stream, filesOf(t.stream, '.jsonl')[0]!)
    const lines = linesOf(file)
    lines.splice(3, 1)
    writeLines(file, lines)
    const problem = verify(t.dir).streams[0]!.problems[0]!
    assert.equal(problem.kind, 'removed')
    assert.match(
      problem.message,
      /^1 line \(event 4\) removed before line 4 of keyward-audit-00000001\.jsonl$/,
    )
  })

  it('names an inserted line (a copy of another)', () => {
    const t = copyOf(s, 'inserted')
    const file = join(t.stream, filesOf(t.stream, '.jsonl')[0]!)
    const lines = linesOf(file)
    lines.splice(4, 0, lines[2]!)
    writeLines(file, lines)
    const problem = verify(t.dir).streams[0]!.problems[0]!
    assert.equal(problem.kind, 'inserted')
    assert.equal(problem.line, 5)
  })

  it('names reordered lines', () => {
    const t = copyOf(s, 'reordered')
    const file = join(t.stream, filesOf(t.stream, '.jsonl')[0]!)
    const lines = linesOf(file)
    ;[lines[2], lines[3]] = [lines[3]!, lines[2]!]
    writeLines(file, lines)
    const problem = verify(t.dir).streams[0]!.problems[0]!
    assert.equal(problem.kind, 'reordered')
    assert.equal(problem.line, 3)
    assert.match(problem.message, /comes before line 4 of keyward-audit-00000001\.jsonl/)
  })

  it('names a removed file', () => {
    const t = copyOf(s, 'file-removed')
    rmSync(join(t.stream, 'keyward-audit-00000002.jsonl'))
    const problems = verify(t.dir).streams[0]!.problems
    assert.equal(problems[0]!.kind, 'removed')
    assert.equal(
      problems[0]!.message,
      'file number 2 of stream main is missing before keyward-audit-00000003.jsonl (removed)',
    )
    // The digest that signed it says so too.
    assert.match(
      problems[1]!.message,
      /^keyward-audit-00000002\.jsonl, signed in keyward-digest-\d+\.json, was removed$/,
    )
  })

  it('names reordered files', () => {
    const t = copyOf(s, 'file-reordered')
    const a = join(t.stream, 'keyward-audit-00000001.jsonl')
    const b = join(t.stream, 'keyward-audit-00000002.jsonl')
    renameSync(a, `${a}.x`)
    renameSync(b, a)
    renameSync(`${a}.x`, b)
    const problem = verify(t.dir).streams[0]!.problems[0]!
    assert.equal(problem.kind, 'reordered')
    assert.equal(
      problem.message,
      'keyward-audit-00000001.jsonl holds file number 2 (files renamed or reordered)',
    )
  })

  it('catches a rewritten chain by the signed digest, naming the file', async () => {
    // Whoever recomputes every hash after a change passes the chain, not the signature.
    const t = copyOf(s, 'rewritten')
    const { createHash } = await import('node:crypto')
    const name = filesOf(t.stream, '.jsonl')[0]!
    const file = join(t.stream, name)
    const parsed = linesOf(file).map(
      (l) => JSON.parse(l) as { prev: string; record?: { eventName: string } },
    )
    parsed[2]!.record!.eventName = 'Decrypt'
    let prev = parsed[0]!.prev
    const out = parsed.map((p) => {
      const line = JSON.stringify({ ...p, prev })
      prev = createHash('sha256').update(line).digest('hex')
      return line
    })
    writeLines(file, out)
    const problems = verify(t.dir).streams[0]!.problems
    const digestProblem = problems.find((p) => p.file.startsWith('keyward-digest-'))!
    assert.equal(digestProblem.kind, 'changed')
    assert.match(
      digestProblem.message,
      new RegExp(
        `^${name.replace('.', '\\.')} does not match its signed hash in keyward-digest-00000001\\.json`,
      ),
    )
  })

  it('refuses a digest whose signature does not verify', () => {
    const t = copyOf(s, 'signature')
    const digest = join(t.stream, 'keyward-digest-00000001.json')
    const text = readFileSync(digest, 'utf8')
    writeFileSync(digest, text.replace(/"created":"[^"]+"/, '"created":"2020-01-01T00:00:00.000Z"'))
    const problem = verify(t.dir).streams[0]!.problems.find((p) => p.kind === 'signature')!
    assert.equal(
      problem.message,
      "keyward-digest-00000001.json: the signature does not verify with Keyward's audit signing key (changed, or signed by another key)",
    )
  })
})

describe('the file audit trail, --audit-required', () => {
  let s: AuditedServer
  before(async () => {
    s = await startAudited({ required: true })
  })
  after(() => s.close())

  it('refuses calls while the audit directory cannot be written, and serves again after', async () => {
    const kms = s.kw.client()
    const key = await kms.send(new CreateKeyCommand({}))
    const encrypt = () =>
      kms.send(new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId, Plaintext: Buffer.from('x') }))
    await encrypt()
    // The answer waited for the fsync: the event is on disk already, without a flush.
    assert.deepEqual(
      (await records(s.streamDir)).map((r) => r.eventName),
      ['CreateKey', 'Encrypt'],
    )
    // Unwritable even for root: the directory is replaced by a file (ENOTDIR for every path in it).
    renameSync(s.auditDir, `${s.auditDir}.away`)
    writeFileSync(s.auditDir, '')
    await expectKmsError(encrypt(), 'KMSInternalException', AUDIT_UNWRITABLE)
    // Not ready while the trail cannot be written ("audit writable", issue 15).
    const readyz = await fetch(`${s.kw.endpoint}/readyz`)
    assert.equal(readyz.status, 503)
    assert.match(JSON.stringify(await readyz.json()), /"audit":"the audit trail cannot be written"/)
    assert.equal(s.trail.status().failed, true)
    // Now known broken: refused before the operation runs, so nothing changes.
    await expectKmsError(
      kms.send(new CreateKeyCommand({})),
      'KMSInternalException',
      AUDIT_UNWRITABLE,
    )
    assert.match(s.trailLogger.lines.join('\n'), /writing the audit trail failed/)
    rmSync(s.auditDir)
    renameSync(`${s.auditDir}.away`, s.auditDir)
    // The queued events are written with the next attempt; calls are served again.
    let served = false
    for (let i = 0; i < 20 && !served; i++) {
      served = await encrypt().then(
        () => true,
        () => false,
      )
    }
    assert.equal(served, true)
    assert.equal((await fetch(`${s.kw.endpoint}/readyz`)).status, 200)
    const keys = await kms.send(new ListKeysCommand({}))
    // The refused CreateKey created nothing.
    assert.equal(keys.Keys!.length, 1)
  })
})

describe('the file audit trail: rotation by age, periodic digests, restarts', () => {
  const event = (n: number): AuditEvent => ({
    operation: 'Encrypt',
    requestId: `request-${n}`,
    region: 'us-east-1',
    at: Date.now(),
    keys: [],
    outcome: 'success',
  })
  const signingKey = generateKeyPairSync('ed25519').privateKey
  const dirs: string[] = []
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-trail-'))
    dirs.push(dir)
    return dir
  }
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  const open = (dir: string, options: { clock: ManualClock; digestIntervalMs?: number }) =>
    FileAuditTrail.open({
      dir,
      stream: 'main',
      signingKey,
      logger: new CapturingLogger(),
      maxFileAgeMs: 60_000,
      ...options,
    })
  const verify = (dir: string) => verifyAuditDir(dir, { publicKey: createPublicKey(signingKey) })

  it('reports how many events wait for the disk and how long the oldest has waited', async () => {
    const dir = tempDir()
    const clock = new ManualClock()
    const trail = await open(dir, { clock })
    assert.deepEqual(trail.status(), { queued: 0, lagMs: 0, failed: false })
    trail.sink().record(event(1))
    clock.advance(150)
    trail.sink().record(event(2))
    clock.advance(100)
    // The write lag is the age of the oldest event not yet on disk.
    assert.deepEqual(trail.sink().status!(), { queued: 2, lagMs: 250, failed: false })
    await trail.flush()
    assert.deepEqual(trail.status(), { queued: 0, lagMs: 0, failed: false })
    await trail.close()
  })

  it('keeps the newest maxQueue events while the disk refuses them, and says how many it dropped', async () => {
    const dir = tempDir()
    const logger = new CapturingLogger()
    const trail = await FileAuditTrail.open({
      dir,
      stream: 'main',
      signingKey,
      logger,
      clock: new ManualClock(),
      maxQueue: 5,
    })
    const stream = join(dir, 'main')
    trail.sink().record(event(1))
    await trail.flush()
    // Unwritable even for root: the stream's directory is replaced by a file.
    renameSync(stream, `${stream}.away`)
    writeFileSync(stream, '')
    for (let n = 2; n <= 13; n++) trail.sink().record(event(n))
    await assert.rejects(trail.flush(), { message: AUDIT_UNWRITABLE })
    assert.equal(trail.status().queued, 5)
    rmSync(stream)
    renameSync(`${stream}.away`, stream)
    await trail.flush()
    assert.deepEqual(
      (await records(stream)).map((r) => r.requestID),
      ['request-1', 'request-9', 'request-10', 'request-11', 'request-12', 'request-13'],
    )
    assert.match(
      logger.lines.join('\n'),
      /"message":"audit events were dropped while the trail could not be written","count":7/,
    )
    await trail.close()
  })

  it('begins a new file once the current one is older than maxFileAgeMs, with a digest', async () => {
    const dir = tempDir()
    const clock = new ManualClock()
    const trail = await open(dir, { clock })
    trail.sink().record(event(1))
    await trail.flush()
    clock.advance(60_001)
    trail.sink().record(event(2))
    await trail.flush()
    const stream = join(dir, 'main')
    assert.deepEqual(filesOf(stream, '.jsonl'), [
      'keyward-audit-00000001.jsonl',
      'keyward-audit-00000002.jsonl',
    ])
    const digest = JSON.parse(readFileSync(join(stream, 'keyward-digest-00000001.json'), 'utf8'))
    assert.deepEqual(
      digest.files.map((f: { name: string }) => f.name),
      ['keyward-audit-00000001.jsonl'],
    )
    await trail.close()
    assert.equal(verify(dir).ok, true)
  })

  it('signs a digest every digestIntervalMs, covering the open file', async () => {
    const dir = tempDir()
    const trail = await open(dir, { clock: new ManualClock(), digestIntervalMs: 30 })
    trail.sink().record(event(1))
    await trail.flush()
    await new Promise((resolve) => setTimeout(resolve, 150))
    const report = verify(dir)
    assert.equal(report.ok, true)
    assert.ok(report.streams[0]!.digests >= 1)
    assert.deepEqual(report.streams[0]!.undigested, [])
    await trail.close()
  })

  it('continues the chain after a restart, in a new file', async () => {
    const dir = tempDir()
    const clock = new ManualClock()
    const first = await open(dir, { clock })
    first.sink().record(event(1))
    await first.close()
    const second = await open(dir, { clock })
    second.sink().record(event(2))
    await second.close()
    const report = verify(dir)
    assert.equal(report.ok, true, JSON.stringify(report))
    assert.equal(report.streams[0]!.files, 2)
    assert.equal(report.streams[0]!.lines, 4)
    assert.deepEqual(
      (await records(join(dir, 'main'))).map((r) => r.requestID),
      ['request-1', 'request-2'],
    )
  })
})

describe('the lines of a batch (chainLines)', () => {
  it('writes each record as JSON.stringify({ seq, prev, record }) and chains it by SHA-256', () => {
    // Non-ASCII text in an encryption context: the record's bytes are UTF-8, the rest ASCII.
    const recordsOf = [
      { eventName: 'Encrypt', requestParameters: { encryptionContext: { ré: 'ünï 😀' } } },
      { eventName: 'Decrypt', errorCode: 'InvalidCiphertextException' },
      { eventName: 'ListKeys' },
    ]
    const from = { seq: 41, prev: sha256('the previous line') }
    const { bytes, seq, prev } = chainLines(
      recordsOf.map((r) => Buffer.from(JSON.stringify(r))),
      from,
    )
    const expected: string[] = []
    let chain = from.prev
    recordsOf.forEach((record, i) => {
      const line = JSON.stringify({ seq: from.seq + 1 + i, prev: chain, record })
      expected.push(line)
      chain = sha256(line)
    })
    assert.equal(bytes.toString('utf8'), expected.join('\n') + '\n')
    assert.equal(seq, 44)
    assert.equal(prev, chain)
  })

  it('gives no bytes for no records, and leaves the chain where it was', () => {
    const from = { seq: 7, prev: sha256('x') }
    assert.deepEqual(chainLines([], from), { bytes: Buffer.alloc(0), ...from })
  })
})
