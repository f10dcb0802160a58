import { createHash, createPublicKey, type Hash, type KeyObject } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { callRecord, serviceRecord, type CloudTrailRecord } from '../../domain/audit-event.js'
import { KMSInternalException } from '../../domain/errors/exceptions.js'
import type { AuditEvent, AuditSink, AuditStatus, ServiceEvent } from '../../ports/audit-sink.js'
import type { Clock } from '../../ports/clock.js'
import type { Logger } from '../../ports/logger.js'
import {
  chainLines,
  DIGEST_FILE,
  digestFileName,
  GENESIS,
  publicKeyId,
  sha256,
  signDigest,
  TRAIL_FILE,
  trailFileName,
  type DigestBody,
} from './format.js'

/** Settings of the file trail; every limit has a default fit for production. */
export interface FileAuditTrailOptions {
  /** The audit directory (`--audit-dir`, default `<data-dir>/audit`). */
  readonly dir: string
  /** This process's stream: a subdirectory with its own chain (`main`, or `worker-<n>`). */
  readonly stream: string
  /** Keyward's Ed25519 key that signs the digests. */
  readonly signingKey: KeyObject
  readonly clock: Clock
  readonly logger: Logger
  /** `--audit-required`: calls are refused rather than answered when events cannot be written. */
  readonly required?: boolean
  /** A file is closed and the next begun at this size (default 64 MiB)… */
  readonly maxFileBytes?: number
  /** …or at this age (default one hour). */
  readonly maxFileAgeMs?: number
  /** A signed digest is written this often while events arrive (default one hour). */
  readonly digestIntervalMs?: number
  /**
   * Events wait at most this long before they are written and synced (default 100 ms): what a
   * crash can lose. With `required`, events are written at once and the answer waits.
   */
  readonly flushIntervalMs?: number
  /** Events written per write and fsync at most (default 2000). */
  readonly maxBatch?: number
  /** Events kept while the disk refuses them (default 100,000); older ones are then dropped. */
  readonly maxQueue?: number
}

interface OpenFile {
  readonly handle: FileHandle
  readonly name: string
  readonly path: string
  readonly index: number
  readonly opened: number
  readonly ino: number
  readonly hash: Hash
  bytes: number
  lastSeq: number
  /** A write failed part-way: the file's bytes are unknown, the next batch starts a new file. */
  broken: boolean
}

interface Waiter {
  readonly upTo: number
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

/** What `--audit-required` answers when the trail cannot be written. */
export const AUDIT_UNWRITABLE =
  'The audit trail cannot be written, and this server refuses to serve calls unaudited (--audit-required). See the server log.'

/**
 * The audit trail as append-only JSON-lines files (format.ts): records are queued by `record`
 * (never blocking the request), written in batches with one fsync each, the files rotated by
 * size and age, and signed digests written every `digestIntervalMs`, on rotation and at close.
 * Writes, rotations and digests run one at a time.
 *
 * @example
 *   const trail = await FileAuditTrail.open({ dir, stream: 'main', signingKey, clock, logger })
 *   const sink = trail.sink()
 *   // … at shutdown:
 *   await trail.close()
 */
export class FileAuditTrail {
  readonly #options: Required<FileAuditTrailOptions>
  readonly #streamDir: string
  readonly #publicKeyId: string
  /**
   * Records of this turn of the event loop, serialized together at its end (#serialize): one
   * tight loop serializes faster than calls spread between requests, whose code and data
   * have left the CPU's caches, and a record lives too briefly to be copied by the garbage
   * collector.
   */
  #unserialized: CloudTrailRecord[] = []
  #serializeScheduled = false
  /**
   * The JSON of each serialized record, UTF-8: what waits for the next write (up to
   * `flushIntervalMs`) is a buffer outside the JavaScript heap, not an object tree.
   */
  #queue: Buffer[] = []
  /** When each waiting record was recorded (clock ms), in order (#queue then #unserialized). */
  #queuedAt: number[] = []
  /** The first this many of #queue are being written: they are not dropped. */
  #inFlight = 0
  #waiters: Waiter[] = []
  /** Events ever queued, and ever written: the positions waiters wait for. */
  #enqueued = 0
  #written = 0
  #dropped = 0
  #seq: number
  #prev: string
  #previousFileHash: string
  #nextFileIndex: number
  #digestIndex: number
  #previousDigest: string
  #file: OpenFile | undefined
  /** Files written since the last digest, by name: their length and hash at their last write. */
  readonly #undigested = new Map<string, { bytes: number; sha256: string; lastSeq: number }>()
  #failed: Error | undefined
  #serial: Promise<void> = Promise.resolve()
  #flushScheduled = false
  #flushTimer: NodeJS.Timeout | undefined
  #digestTimer: NodeJS.Timeout | undefined
  #closed = false

  private constructor(
    options: Required<FileAuditTrailOptions>,
    resumed: {
      seq: number
      prev: string
      previousFileHash: string
      nextFileIndex: number
      digestIndex: number
      previousDigest: string
    },
  ) {
    this.#options = options
    this.#streamDir = join(options.dir, options.stream)
    this.#publicKeyId = publicKeyId(createPublicKey(options.signingKey))
    this.#seq = resumed.seq
    this.#prev = resumed.prev
    this.#previousFileHash = resumed.previousFileHash
    this.#nextFileIndex = resumed.nextFileIndex
    this.#digestIndex = resumed.digestIndex
    this.#previousDigest = resumed.previousDigest
  }

  /**
   * Opens the stream's directory (created 0700), continues its chain from the last complete
   * line of its last file, and begins a new file. Throws when the directory cannot be written:
   * a server that was asked for an audit trail does not start without one.
   */
  static async open(options: FileAuditTrailOptions): Promise<FileAuditTrail> {
    const full: Required<FileAuditTrailOptions> = {
      required: false,
      maxFileBytes: 64 * 1024 * 1024,
      maxFileAgeMs: 60 * 60 * 1000,
      digestIntervalMs: 60 * 60 * 1000,
      flushIntervalMs: 100,
      maxBatch: 2000,
      maxQueue: 100_000,
      ...options,
    }
    const streamDir = join(full.dir, full.stream)
    await mkdir(streamDir, { recursive: true, mode: 0o700 })
    const trail = new FileAuditTrail(full, await resume(streamDir))
    await trail.#run(async () => {
      await trail.#startFile()
    })
    trail.#digestTimer = setInterval(() => void trail.#periodicDigest(), full.digestIntervalMs)
    trail.#digestTimer.unref()
    return trail
  }

  /**
   * The AuditSink of this trail: with `required`, it has `written` and `assertWritable`, which
   * the request core awaits and asks (src/core/invoke.ts).
   */
  sink(): AuditSink {
    const base: AuditSink = {
      record: (event: AuditEvent) => this.#enqueue(callRecord(event)),
      service: (event: ServiceEvent) => this.#enqueue(serviceRecord(event)),
      status: () => this.status(),
    }
    if (!this.#options.required) return base
    return {
      ...base,
      written: () => this.#whenWritten(),
      assertWritable: () => {
        if (this.#failed) throw new KMSInternalException(AUDIT_UNWRITABLE)
      },
    }
  }

  /** What is queued, how long the oldest has waited, and whether writing fails. */
  status(): AuditStatus {
    const oldest = this.#queuedAt[0]
    return {
      queued: this.#queuedAt.length,
      lagMs: oldest === undefined ? 0 : Math.max(0, this.#options.clock.now() - oldest),
      failed: this.#failed !== undefined,
    }
  }

  /** Writes every queued event now (tests; shutdown). Rejects when they could not be written. */
  async flush(): Promise<void> {
    await this.#run(() => this.#drain())
    if (this.#failed) throw this.#failed
  }

  /** Writes what is queued, a last digest, and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#flushTimer)
    clearInterval(this.#digestTimer)
    await this.#run(async () => {
      await this.#drain()
      await this.#closeFile()
      await this.#writeDigest()
    }).catch((error: unknown) => this.#logFailure('closing the audit trail failed', error))
  }

  #enqueue(record: CloudTrailRecord): void {
    this.#unserialized.push(record)
    this.#queuedAt.push(this.#options.clock.now())
    this.#enqueued++
    if (!this.#serializeScheduled) {
      this.#serializeScheduled = true
      setImmediate(() => this.#serialize())
    }
    if (this.#options.required || this.#queuedAt.length >= this.#options.maxBatch) {
      this.#flushSoon()
    } else this.#flushLater()
  }

  /** Serializes the records waiting as objects; drops the oldest beyond `maxQueue`. */
  #serialize(): void {
    this.#serializeScheduled = false
    for (const record of this.#unserialized) this.#queue.push(Buffer.from(JSON.stringify(record)))
    this.#unserialized = []
    const excess = this.#queue.length - this.#options.maxQueue
    if (excess > 0) {
      // Only while the disk refuses writes; counted, and logged once written again. The
      // oldest go, except a batch being written, which would be counted as written.
      const dropped = this.#queue.splice(this.#inFlight, excess).length
      this.#queuedAt.splice(this.#inFlight, dropped)
      this.#dropped += dropped
    }
  }

  /**
   * A flush after `flushIntervalMs`. The timer does not hold the process open: shutdown
   * writes what is queued through close().
   */
  #flushLater(): void {
    if (this.#flushTimer || this.#closed) return
    this.#flushTimer = setTimeout(() => this.#flushSoon(), this.#options.flushIntervalMs)
    this.#flushTimer.unref()
  }

  #flushSoon(): void {
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    if (this.#flushScheduled || this.#closed) return
    this.#flushScheduled = true
    setImmediate(() => {
      this.#flushScheduled = false
      void this.#run(() => this.#drain())
    })
  }

  #whenWritten(): Promise<void> {
    const upTo = this.#enqueued
    if (upTo <= this.#written) return Promise.resolve()
    return new Promise((resolve, reject) => this.#waiters.push({ upTo, resolve, reject }))
  }

  /** Runs `fn` after every earlier write, rotation and digest; failures are logged here. */
  #run(fn: () => Promise<void>): Promise<void> {
    const next = this.#serial.then(fn)
    this.#serial = next.catch(() => {})
    return next
  }

  /** Writes the queue in batches; on a failure keeps the events and refuses the waiters. */
  async #drain(): Promise<void> {
    this.#serialize()
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, this.#options.maxBatch)
      this.#inFlight = batch.length
      try {
        await this.#writeBatch(batch)
      } catch (error) {
        this.#fail(error)
        // Retried on the next event, or the next period for a quiet server.
        this.#flushLater()
        return
      } finally {
        this.#inFlight = 0
      }
      this.#queue.splice(0, batch.length)
      this.#queuedAt.splice(0, batch.length)
      this.#written += batch.length
      this.#recovered()
      this.#waiters = this.#waiters.filter((w) => (w.upTo <= this.#written ? w.resolve() : true))
    }
  }

  #fail(error: unknown): void {
    if (!this.#failed) this.#logFailure('writing the audit trail failed', error)
    this.#failed = new KMSInternalException(AUDIT_UNWRITABLE)
    for (const waiter of this.#waiters) waiter.reject(this.#failed)
    this.#waiters = []
  }

  #recovered(): void {
    if (this.#failed) this.#options.logger.info('the audit trail is written again')
    this.#failed = undefined
    if (this.#dropped > 0) {
      this.#options.logger.error('audit events were dropped while the trail could not be written', {
        count: this.#dropped,
      })
      this.#dropped = 0
    }
  }

  #logFailure(message: string, error: unknown): void {
    this.#options.logger.error(message, {
      dir: this.#streamDir,
      cause: error instanceof Error ? error.message : String(error),
    })
  }

  /** One write and one fsync for the batch; the chain advances only once it is on disk. */
  async #writeBatch(batch: readonly Buffer[]): Promise<void> {
    const file = await this.#currentFile()
    const { bytes, seq, prev } = chainLines(batch, { seq: this.#seq, prev: this.#prev })
    await this.#append(file, bytes)
    this.#seq = seq
    this.#prev = prev
    file.lastSeq = seq
    this.#noteWritten(file)
  }

  async #append(file: OpenFile, bytes: Buffer): Promise<void> {
    try {
      const { bytesWritten } = await file.handle.write(bytes)
      // A short write (a full disk) leaves part of a line: the file is broken, see below.
      if (bytesWritten !== bytes.length) throw new Error(`short write to ${file.path}`)
      await file.handle.datasync()
    } catch (error) {
      file.broken = true
      throw error
    }
    file.hash.update(bytes)
    file.bytes += bytes.length
  }

  #noteWritten(file: OpenFile): void {
    this.#undigested.set(file.name, {
      bytes: file.bytes,
      sha256: file.hash.copy().digest('hex'),
      lastSeq: file.lastSeq,
    })
  }

  /**
   * The file to write to: a new one when the current is full, old, broken, or no longer at
   * its path (moved or deleted by someone: writing on would lose the events silently).
   */
  async #currentFile(): Promise<OpenFile> {
    const file = this.#file
    if (
      file &&
      !file.broken &&
      file.bytes < this.#options.maxFileBytes &&
      this.#options.clock.now() - file.opened < this.#options.maxFileAgeMs &&
      (await stat(file.path).then(
        (s) => s.ino === file.ino,
        () => false,
      ))
    ) {
      return file
    }
    if (file) {
      await this.#closeFile()
      await this.#writeDigest()
    }
    return this.#startFile()
  }

  async #closeFile(): Promise<void> {
    const file = this.#file
    if (!file) return
    this.#file = undefined
    this.#previousFileHash = file.hash.digest('hex')
    await file.handle.close().catch(() => {})
  }

  /** Begins the next file with its header line (the chain's link to the previous file). */
  async #startFile(): Promise<OpenFile> {
    const index = this.#nextFileIndex
    const name = trailFileName(index)
    const path = join(this.#streamDir, name)
    // Recreated if someone removed it: the chain then shows what was removed with it.
    await mkdir(this.#streamDir, { recursive: true, mode: 0o700 })
    const handle = await open(path, 'wx', 0o600)
    const opened = this.#options.clock.now()
    const file: OpenFile = {
      handle,
      name,
      path,
      index,
      opened,
      ino: (await handle.stat()).ino,
      hash: createHash('sha256'),
      bytes: 0,
      lastSeq: this.#seq,
      broken: false,
    }
    this.#nextFileIndex = index + 1
    this.#file = file
    const seq = this.#seq + 1
    const header = JSON.stringify({
      seq,
      prev: this.#prev,
      file: {
        stream: this.#options.stream,
        index,
        opened: new Date(opened).toISOString(),
        previousFile: this.#previousFileHash,
      },
    })
    await this.#append(file, Buffer.from(header + '\n'))
    this.#seq = seq
    this.#prev = sha256(header)
    file.lastSeq = seq
    this.#noteWritten(file)
    return file
  }

  async #periodicDigest(): Promise<void> {
    await this.#run(async () => {
      await this.#drain()
      await this.#writeDigest()
    }).catch((error: unknown) => this.#logFailure('writing an audit digest failed', error))
  }

  /** A signed digest of every file written since the last one; nothing when there is none. */
  async #writeDigest(): Promise<void> {
    if (this.#undigested.size === 0) return
    const index = this.#digestIndex + 1
    const body: DigestBody = {
      digestVersion: 1,
      stream: this.#options.stream,
      index,
      created: new Date(this.#options.clock.now()).toISOString(),
      previousDigest: this.#previousDigest,
      publicKey: this.#publicKeyId,
      files: [...this.#undigested].map(([name, state]) => ({ name, ...state })),
    }
    const text = JSON.stringify(signDigest(body, this.#options.signingKey)) + '\n'
    const path = join(this.#streamDir, digestFileName(index))
    const temporary = `${path}.tmp`
    const handle = await open(temporary, 'w', 0o600)
    try {
      await handle.writeFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
    this.#digestIndex = index
    this.#previousDigest = sha256(text)
    this.#undigested.clear()
  }
}

/**
 * Where a stream's chain stands: the last complete line of its last file (a line torn by a
 * crash is left for `audit verify` to report), and its last digest.
 */
async function resume(streamDir: string) {
  const names = await readdir(streamDir)
  const indexOf = (pattern: RegExp) =>
    names
      .map((name) => pattern.exec(name)?.[1])
      .filter((index): index is string => index !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
  const files = indexOf(TRAIL_FILE)
  const digests = indexOf(DIGEST_FILE)
  const lastFile = files.at(-1)
  const lastDigest = digests.at(-1)
  let seq = 0
  let prev = GENESIS
  let previousFileHash = GENESIS
  if (lastFile !== undefined) {
    const bytes = await readFile(join(streamDir, trailFileName(lastFile)))
    previousFileHash = sha256(bytes)
    const lines = bytes.toString('utf8').split('\n')
    for (let i = lines.length - 1; i >= 0; i--) {
      const parsed = parseSeq(lines[i]!)
      if (parsed !== undefined) {
        seq = parsed
        prev = sha256(lines[i]!)
        break
      }
    }
  }
  const previousDigest =
    lastDigest === undefined
      ? GENESIS
      : sha256(await readFile(join(streamDir, digestFileName(lastDigest))))
  return {
    seq,
    prev,
    previousFileHash,
    nextFileIndex: (lastFile ?? 0) + 1,
    digestIndex: lastDigest ?? 0,
    previousDigest,
  }
}

function parseSeq(line: string): number | undefined {
  if (line === '') return undefined
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq
    return typeof seq === 'number' ? seq : undefined
  } catch {
    return undefined
  }
}
