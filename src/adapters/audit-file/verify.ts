import type { KeyObject } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  DIGEST_FILE,
  digestSignatureValid,
  GENESIS,
  publicKeyId,
  sha256,
  TRAIL_FILE,
  type Digest,
} from './format.js'

/**
 * `keyward audit verify`: reads every stream of an audit directory, follows the line chain
 * across its files and checks every signed digest, and names the first line or file that was
 * changed, removed, inserted or reordered. Pure reading: nothing is written.
 */

/** One finding: where, what kind, and a sentence for the operator. */
export interface Problem {
  readonly stream: string
  readonly file: string
  /** 1-based line in `file`, when the problem is a line. */
  readonly line?: number
  readonly kind: 'changed' | 'removed' | 'inserted' | 'reordered' | 'incomplete' | 'signature'
  readonly message: string
}

/** What verify found in one stream. */
export interface StreamReport {
  readonly stream: string
  readonly files: number
  readonly lines: number
  readonly digests: number
  /** Files, or their ends, that no digest covers yet (written since the last digest). */
  readonly undigested: readonly string[]
  /** The first problem of the line chain and the first of the digests; empty when intact. */
  readonly problems: readonly Problem[]
}

export interface VerifyReport {
  readonly ok: boolean
  readonly streams: readonly StreamReport[]
}

/** A parsed line and where it is. */
interface Line {
  readonly file: string
  readonly line: number
  readonly text: string
  readonly seq: number | undefined
  readonly prev: string | undefined
  readonly header?: { index: number; opened: string; previousFile: string }
  readonly eventTime?: string
}

interface TrailFile {
  readonly name: string
  readonly index: number
  readonly bytes: Buffer
}

const listed = (dir: string, pattern: RegExp) =>
  readdirSync(dir)
    .map((name) => ({ name, index: Number(pattern.exec(name)?.[1] ?? NaN) }))
    .filter((f) => !Number.isNaN(f.index))
    .sort((a, b) => a.index - b.index)

/**
 * The streams of an audit directory: its subdirectories that hold trail files or digests.
 *
 * @example
 *   streamsOf('/root/.keyward/audit') // ['main']
 */
export function streamsOf(auditDir: string): string[] {
  return readdirSync(auditDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
}

/** The files of a stream whose time span meets [from, to] (a file spans until the next opens). */
function filesInRange(
  files: readonly TrailFile[],
  range: { from?: number; to?: number },
): TrailFile[] {
  const opened = files.map((f) => openedAt(f.bytes))
  return files.filter((_, i) => {
    const start = opened[i] ?? -Infinity
    const end = opened[i + 1] ?? Infinity
    return (
      (range.to === undefined || start <= range.to) &&
      (range.from === undefined || end >= range.from)
    )
  })
}

function openedAt(bytes: Buffer): number | undefined {
  const first = bytes.subarray(0, Math.max(0, bytes.indexOf(10))).toString('utf8')
  try {
    const opened = (JSON.parse(first) as { file?: { opened?: string } }).file?.opened
    return opened ? Date.parse(opened) : undefined
  } catch {
    return undefined
  }
}

function parseLine(file: string, line: number, text: string): Line {
  try {
    const value = JSON.parse(text) as {
      seq?: unknown
      prev?: unknown
      file?: { index?: unknown; opened?: unknown; previousFile?: unknown }
      record?: { eventTime?: unknown }
    }
    const header =
      value.file && typeof value.file.index === 'number'
        ? {
            index: value.file.index,
            opened: String(value.file.opened),
            previousFile: String(value.file.previousFile),
          }
        : undefined
    return {
      file,
      line,
      text,
      seq: typeof value.seq === 'number' ? value.seq : undefined,
      prev: typeof value.prev === 'string' ? value.prev : undefined,
      ...(header ? { header } : {}),
      ...(typeof value.record?.eventTime === 'string' ? { eventTime: value.record.eventTime } : {}),
    }
  } catch {
    return { file, line, text, seq: undefined, prev: undefined }
  }
}

const at = (l: { file: string; line: number }) => `line ${l.line} of ${l.file}`

/**
 * The first break of the line chain of a stream's files (in index order), or undefined.
 * `whole` says the files are all of the stream from its first, so the first line must be the
 * chain's start.
 */
function checkChain(
  stream: string,
  files: readonly TrailFile[],
  whole: boolean,
): { problem?: Problem; lines: number } {
  const lines: Line[] = []
  for (const f of files) {
    const texts = f.bytes.toString('utf8').split('\n')
    const complete = texts.at(-1) === ''
    texts.pop()
    texts.forEach((text, i) => lines.push(parseLine(f.name, i + 1, text)))
    if (!complete) {
      return {
        lines: lines.length,
        problem: {
          stream,
          file: f.name,
          line: texts.length + 1,
          kind: 'incomplete',
          message: `line ${texts.length + 1} of ${f.name} is incomplete (a crash while writing, or the file was cut)`,
        },
      }
    }
  }
  const positions = new Map<number, number[]>()
  lines.forEach((l, i) => {
    if (l.seq !== undefined) positions.set(l.seq, [...(positions.get(l.seq) ?? []), i])
  })
  const problem = (l: Line, kind: Problem['kind'], message: string): Problem => ({
    stream,
    file: l.file,
    line: l.line,
    kind,
    message,
  })
  let expected = whole ? 1 : lines[0]?.seq
  let expectedIndex = whole ? 1 : files[0]?.index
  let previousFileHash = whole ? GENESIS : undefined
  let fileNo = -1
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    const before = lines[i - 1]
    if (l.line === 1) {
      fileNo++
      const file = files[fileNo]!
      if (expectedIndex !== undefined && file.index > expectedIndex) {
        return {
          lines: lines.length,
          problem: {
            stream,
            file: file.name,
            kind: 'removed',
            message: `file number ${expectedIndex} of stream ${stream} is missing before ${file.name} (removed)`,
          },
        }
      }
      if (!l.header || l.header.index !== file.index) {
        return {
          lines: lines.length,
          problem: problem(
            l,
            l.header ? 'reordered' : 'changed',
            l.header
              ? `${file.name} holds file number ${l.header.index} (files renamed or reordered)`
              : `line 1 of ${file.name} is not the file's header (changed)`,
          ),
        }
      }
      if (previousFileHash !== undefined && l.header.previousFile !== previousFileHash) {
        const name = files[fileNo - 1]?.name ?? 'the previous file'
        return {
          lines: lines.length,
          problem: problem(
            l,
            'changed',
            `${name} does not hash to what ${file.name} records for it (changed after it was closed)`,
          ),
        }
      }
      expectedIndex = file.index + 1
      previousFileHash = sha256(file.bytes)
    }
    if (l.seq === undefined || l.prev === undefined) {
      return {
        lines: lines.length,
        problem: problem(l, 'changed', `${at(l)} is not a trail line (changed)`),
      }
    }
    if (expected !== undefined && l.seq !== expected) {
      const later = positions.get(expected)?.find((p) => p > i)
      if (l.seq > expected && later !== undefined) {
        return {
          lines: lines.length,
          problem: problem(
            l,
            'reordered',
            `${at(l)} (event ${l.seq}) comes before ${at(lines[later]!)} (event ${expected}): lines reordered`,
          ),
        }
      }
      if (l.seq > expected) {
        const where =
          before && before.file !== l.file ? `at the end of ${before.file}` : `before ${at(l)}`
        const count = l.seq - expected
        return {
          lines: lines.length,
          problem: problem(
            l,
            'removed',
            `${count} line${count > 1 ? 's' : ''} (event ${expected}${count > 1 ? `–${l.seq - 1}` : ''}) removed ${where}`,
          ),
        }
      }
      // A sequence number seen before: a line was inserted (copied, or made up).
      const inserted = before && l.prev === sha256(lines[i - 2]?.text ?? '') ? before : l
      return {
        lines: lines.length,
        problem: problem(
          inserted,
          'inserted',
          `${at(inserted)} was inserted (event ${inserted.seq ?? '?'} appears twice)`,
        ),
      }
    }
    const expectedPrev = before ? sha256(before.text) : whole ? GENESIS : undefined
    if (expectedPrev !== undefined && l.prev !== expectedPrev) {
      const changed = before ?? l
      return {
        lines: lines.length,
        problem: problem(
          changed,
          'changed',
          `${at(changed)} was changed (the next line's hash of it does not match)`,
        ),
      }
    }
    expected = l.seq + 1
  }
  return { lines: lines.length }
}

/**
 * The first problem of a stream's digests: a signature that does not verify, a digest
 * removed or inserted, or a file (or its start) that no longer hashes to what was signed.
 */
function checkDigests(
  stream: string,
  dir: string,
  context: {
    publicKey: KeyObject
    files: ReadonlyMap<string, Buffer>
    range: { from?: number; to?: number }
  },
): { problem?: Problem; digests: number; covered: Map<string, number> } {
  const covered = new Map<string, number>()
  const digests = listed(dir, DIGEST_FILE)
  const keyId = publicKeyId(context.publicKey)
  let previous: string | undefined = GENESIS
  let expectedIndex = 1
  let checked = 0
  for (const d of digests) {
    const text = readFileSync(join(dir, d.name))
    const fail = (kind: Problem['kind'], message: string) => ({
      digests: checked,
      covered,
      problem: { stream, file: d.name, kind, message },
    })
    let digest: Digest
    try {
      digest = JSON.parse(text.toString('utf8')) as Digest
    } catch {
      return fail('changed', `${d.name} is not a digest (changed)`)
    }
    if (d.index > expectedIndex)
      return fail('removed', `digest number ${expectedIndex} is missing before ${d.name} (removed)`)
    if (digest.publicKey !== keyId || !digestSignatureValid(digest, context.publicKey)) {
      return fail(
        'signature',
        `${d.name}: the signature does not verify with Keyward's audit signing key (changed, or signed by another key)`,
      )
    }
    if (digest.index !== d.index)
      return fail('reordered', `${d.name} holds digest number ${digest.index} (renamed)`)
    if (previous !== undefined && digest.previousDigest !== previous) {
      return fail(
        'changed',
        `${d.name} does not chain to the digest before it (a digest was changed, removed or inserted)`,
      )
    }
    previous = sha256(text)
    expectedIndex = d.index + 1
    const created = Date.parse(digest.created)
    if (context.range.from !== undefined && created < context.range.from) continue
    checked++
    for (const entry of digest.files) {
      const bytes = context.files.get(entry.name)
      if (!bytes) {
        // Outside the range asked for, or gone: only the range's files were read.
        if (context.range.from !== undefined || context.range.to !== undefined) continue
        return fail('removed', `${entry.name}, signed in ${d.name}, was removed`)
      }
      if (bytes.length < entry.bytes) {
        return fail(
          'removed',
          `${entry.name} is shorter than signed in ${d.name} (lines removed from its end)`,
        )
      }
      if (sha256(bytes.subarray(0, entry.bytes)) !== entry.sha256) {
        return fail(
          'changed',
          `${entry.name} does not match its signed hash in ${d.name} (changed up to event ${entry.lastSeq})`,
        )
      }
      covered.set(entry.name, Math.max(covered.get(entry.name) ?? 0, entry.bytes))
    }
    if (context.range.to !== undefined && created > context.range.to) break
  }
  return { digests: checked, covered }
}

/**
 * Verifies an audit directory with the public key of Keyward's audit signing key.
 *
 * @example
 *   const report = verifyAuditDir('/root/.keyward/audit', { publicKey })
 *   if (!report.ok) console.log(report.streams.flatMap((s) => s.problems)[0]?.message)
 */
export function verifyAuditDir(
  auditDir: string,
  options: { publicKey: KeyObject; from?: number; to?: number },
): VerifyReport {
  const range = {
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
  }
  const streams = streamsOf(auditDir).map((stream): StreamReport => {
    const dir = join(auditDir, stream)
    const all = listed(dir, TRAIL_FILE).map((f) => ({
      ...f,
      bytes: readFileSync(join(dir, f.name)),
    }))
    const files = filesInRange(all, range)
    const whole = files.length === all.length
    const chain = checkChain(stream, files, whole)
    const digests = checkDigests(stream, dir, {
      publicKey: options.publicKey,
      files: new Map(files.map((f) => [f.name, f.bytes])),
      range,
    })
    const undigested = files
      .filter((f) => (digests.covered.get(f.name) ?? 0) < f.bytes.length)
      .map((f) => f.name)
    return {
      stream,
      files: files.length,
      lines: chain.lines,
      digests: digests.digests,
      undigested,
      problems: [chain.problem, digests.problem].filter((p): p is Problem => p !== undefined),
    }
  })
  return { ok: streams.every((s) => s.problems.length === 0), streams }
}

/**
 * The CloudTrail records of an audit directory, oldest first per stream, that `keep` accepts.
 *
 * @example
 *   const records = searchAuditDir(dir, (r) => r.eventName === 'Decrypt')
 */
export function searchAuditDir(
  auditDir: string,
  keep: (record: Record<string, unknown>) => boolean,
): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = []
  for (const stream of streamsOf(auditDir)) {
    const dir = join(auditDir, stream)
    for (const f of listed(dir, TRAIL_FILE)) {
      for (const text of readFileSync(join(dir, f.name), 'utf8').split('\n')) {
        if (!text) continue
        try {
          const record = (JSON.parse(text) as { record?: Record<string, unknown> }).record
          if (record && keep(record)) found.push(record)
        } catch {
          // A broken line is verify's business; search shows what it can read.
        }
      }
    }
  }
  return found.sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)))
}
