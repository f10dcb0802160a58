import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { SignatureV4 } from '@smithy/signature-v4'
import BetterSqlite3 from 'better-sqlite3'
import { keyRow, materialRow } from '../src/adapters/store-sql/kysely-key-store.js'
import { loadSoftwareRootKey } from '../src/adapters/root-key/software-root-key.js'
import type { KeyRecord } from '../src/domain/key.js'
import { materialContext } from '../src/services/key-service.js'
import { LatencyHistogram } from './latency-histogram.js'
import { completeAnswer } from './open-loop.js'
import { cpuSeconds, startServer, waitUntilIdle, type ServerProcess } from './processes.js'
import { callKms, type BenchCredentials, type KmsCall } from './signing.js'
import { loadText, type TargetCheck } from './targets.js'

/**
 * The scale part of `npm run bench` (issue 13, BENCH_SCALE=1 or BENCH_ONLY=scale): one Keyward
 * process over a store of BENCH_KEYS keys (default 1,000,000), bulk-created here directly in
 * its SQLite database, not through the API (one transaction, prepared statements, each
 * material wrapped under the data directory's root key by the store's own row and AAD code).
 *
 * In one run, on one server, with one load generator (closed loop, keep-alive sockets,
 * requests signed before the run so that signing does not load the generator):
 * - Encrypt on one key;
 * - Encrypt on a key chosen at random among a warm set that fits the key cache (each used once
 *   before the measurement), target >= 0.8x the one-key rate;
 * - Encrypt on a key chosen at random among all of them, cold: each request names a key not
 *   used before in the run (a cache miss: a read of the database and an unwrap);
 * each with p50, p99, p99.9 and the maximum latency, and the server's RSS after each (target
 * under 500 MB); then ListKeys pagination over all the keys (1,000 per page).
 */

const ACCOUNT = '111122223333'
const REGION = 'us-east-1'
/** Keys in the warm set: well inside the default 64 MB key cache (about 1.9 KB per key). */
const WARM_KEYS = 10_000
const TARGET_WARM_RATIO = 0.8
const TARGET_RSS_MB = 500
const PLAINTEXT = Buffer.alloc(256, 'keyward-bench-').toString('base64')

/** The options of the scale part. */
export interface ScaleBenchOptions {
  readonly keywardBin: string
  readonly env: () => NodeJS.ProcessEnv
  readonly credentials: BenchCredentials
  readonly dataDir: string
  readonly keys: number
  readonly seconds: number
  readonly warmupSeconds: number
  readonly connections: number
  /** Node options of the Keyward process (the CPU profiler). */
  readonly nodeOptions?: readonly string[]
}

/** Node's SHA-256 in the shape @smithy/signature-v4 takes (ten times the JS one's speed). */
class NodeSha256 {
  readonly #hash
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret))
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(bytes(data))
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest())
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return Buffer.from(data)
}

/** The request bytes of an Encrypt on each of `keyIds`, signed now (valid for 5 minutes). */
async function signEncrypts(
  endpoint: string,
  credentials: BenchCredentials,
  keyIds: readonly string[],
): Promise<Buffer[]> {
  const url = new URL(endpoint)
  const signer = new SignatureV4({
    service: 'kms',
    region: REGION,
    credentials,
    sha256: NodeSha256,
  })
  const requests: Buffer[] = []
  for (const keyId of keyIds) {
    const body = JSON.stringify({ KeyId: keyId, Plaintext: PLAINTEXT })
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'TrentService.Encrypt',
      },
      body,
    })
    let head = 'POST / HTTP/1.1\r\n'
    for (const [name, value] of Object.entries(signed.headers)) head += `${name}: ${value}\r\n`
    head += `content-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n`
    requests.push(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]))
  }
  return requests
}

/** What closed-loop runs measured, added up over the slices of one scenario. */
class Tally {
  readonly latencies = new LatencyHistogram()
  maxMs = 0
  ok = 0
  failed = 0
  seconds = 0
  cpuSeconds = 0
  rssMb = 0

  record(ms: number): void {
    this.ok++
    this.latencies.record(ms)
    if (ms > this.maxMs) this.maxMs = ms
  }

  get requestsPerSecond(): number {
    return this.ok / this.seconds
  }

  /** Server CPU time per answered request, µs. */
  get cpuUsPerRequest(): number {
    return (this.cpuSeconds * 1e6) / (this.ok + this.failed)
  }
}

/**
 * `connections` keep-alive sockets, each sending the next request as soon as its answer is
 * complete, for `seconds`; `next()` picks each request's bytes. Adds to `tally`.
 */
async function closedLoop(
  endpoint: string,
  options: {
    connections: number
    seconds: number
    next: () => Buffer
    tally?: Tally
    /** Stop before `seconds` once this says so. */
    done?: () => boolean
  },
): Promise<void> {
  const url = new URL(endpoint)
  const tally = options.tally ?? new Tally()
  const start = performance.now()
  const end = start + options.seconds * 1000
  const runOne = (socket: Socket) =>
    new Promise<void>((resolve, reject) => {
      let received: Buffer[] = []
      let sentAt = 0
      const send = () => {
        if (performance.now() >= end || options.done?.()) {
          socket.end()
          resolve()
          return
        }
        received = []
        sentAt = performance.now()
        socket.write(options.next())
      }
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk)
        const data = received.length === 1 ? chunk : Buffer.concat(received)
        received = [data]
        const status = completeAnswer(data)
        if (status === undefined) return
        if (status === 200) tally.record(performance.now() - sentAt)
        else tally.failed++
        send()
      })
      socket.on('error', reject)
      send()
    })
  const sockets = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(Number(url.port), url.hostname, () => resolve(socket))
          socket.once('error', reject)
        }),
    ),
  )
  await Promise.all(sockets.map(runOne))
  tally.seconds += (performance.now() - start) / 1000
}

/** Length of one slice of a scenario: the scenarios take turns, so drift in the machine's load
 * (other work on a shared host) falls on all of them alike. */
const SLICE_SECONDS = 2

/** The resident set of process `pid`, in MB (Linux /proc). */
function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
    return kb === undefined ? Number.NaN : Number(kb) / 1024
  } catch {
    return Number.NaN
  }
}

function writePrincipals(dataDir: string, admin: BenchCredentials): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = {
    accounts: [
      {
        id: ACCOUNT,
        users: [
          {
            name: 'admin',
            accessKeys: [admin],
            policies: [
              {
                name: 'administrator',
                document: {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
                },
              },
            ],
          },
        ],
      },
    ],
    // ListKeys is limited to 100 requests/s by AWS: the pagination over a million keys is a
    // measurement of the store, not of the quota.
    quotas: { requestRates: false },
  }
  writeFileSync(join(dataDir, 'principals.json'), JSON.stringify(file, null, 2) + '\n', {
    mode: 0o600,
  })
}

/**
 * Writes `count` symmetric keys shaped like `template` (a key CreateKey made) into the
 * database of `dataDir`, each with fresh material wrapped under its root key, in one
 * transaction; returns the key IDs.
 */
async function bulkCreateKeys(
  dataDir: string,
  options: { template: KeyRecord; count: number },
): Promise<string[]> {
  const { rootKey } = loadSoftwareRootKey({ path: join(dataDir, 'root.key') })
  const database = new BetterSqlite3(join(dataDir, 'keyward.db'))
  database.pragma('journal_mode = WAL')
  // One bulk load: durability is the final commit's (FULL fsyncs the WAL there). A page cache
  // of 256 MB keeps the indexes' pages in memory while they grow.
  database.pragma('synchronous = FULL')
  database.pragma('cache_size = -262144')
  const sample = keyRow(options.template)
  const keyColumns = Object.keys(sample)
  const insertKey = database.prepare(
    `INSERT INTO kms_keys (${keyColumns.join(', ')}) VALUES (${keyColumns.map((c) => '@' + c).join(', ')})`,
  )
  const insertMaterial = database.prepare(
    'INSERT INTO kms_key_materials (region, key_id, key_material_id, created_at, wrapped) VALUES (@region, @key_id, @key_material_id, @created_at, @wrapped)',
  )
  // Inserted in key ID order, so the primary key and the indexes that start with the Region
  // and account grow at their end instead of splitting pages all over.
  const ids = Array.from({ length: options.count }, () => randomUUID()).sort()
  const now = Date.now()
  database.exec('BEGIN IMMEDIATE')
  try {
    for (let i = 0; i < options.count; i++) {
      const keyId = ids[i]!
      const keyMaterialId = randomBytes(32).toString('hex')
      const key: KeyRecord = {
        ...options.template,
        keyId,
        arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`,
        creationDate: now,
        currentKeyMaterialId: keyMaterialId,
      }
      const where = { region: REGION, keyId, keyMaterialId }
      const wrapped = await rootKey.wrap(randomBytes(32), materialContext(where))
      insertKey.run(keyRow(key))
      insertMaterial.run(materialRow({ ...where, createdAt: now, wrapped }))
      if ((i + 1) % 100_000 === 0) process.stderr.write(`  bulk: ${i + 1} keys\n`)
    }
    database.exec('COMMIT')
  } catch (error) {
    database.exec('ROLLBACK')
    throw error
  } finally {
    database.pragma('wal_checkpoint(TRUNCATE)')
    database.close()
  }
  return ids
}

/** `count` distinct entries of `from`, at random. */
function sample<T>(from: readonly T[], count: number): T[] {
  const copy = [...from]
  const n = Math.min(count, copy.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (copy.length - i))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy.slice(0, n)
}

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-')

/** Runs the scale part; returns whether every request succeeded, and the target checks. */
export async function benchScale(
  options: ScaleBenchOptions,
): Promise<{ ok: boolean; checks: TargetCheck[] }> {
  const { dataDir, credentials } = options
  writePrincipals(dataDir, credentials)
  const start = (): Promise<ServerProcess> =>
    startServer(
      [options.keywardBin, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir],
      {
        ready: /listening on (http:\/\/\S+)/,
        env: options.env(),
        timeoutMs: 120_000,
        ...(options.nodeOptions ? { nodeOptions: options.nodeOptions } : {}),
      },
    )
  const call = (endpoint: string, op: string, body: object): KmsCall => ({
    endpoint,
    target: `TrentService.${op}`,
    body: JSON.stringify(body),
    credentials,
  })
  // A first start creates the database, its migrations and the root key; one CreateKey gives
  // the shape of a key record as this Keyward writes it.
  let server = await start()
  const created = await callKms(call(server.url, 'CreateKey', { Description: 'keyward bench' }))
  const oneKeyId = (created.KeyMetadata as { KeyId: string }).KeyId
  await server.stop()
  const db = new BetterSqlite3(join(dataDir, 'keyward.db'), { readonly: true })
  const template = JSON.parse(
    (db.prepare('SELECT record FROM kms_keys WHERE key_id = ?').get(oneKeyId) as { record: string })
      .record,
  ) as KeyRecord
  db.close()
  const bulkStart = performance.now()
  const keyIds = await bulkCreateKeys(dataDir, { template, count: options.keys - 1 })
  const bulkSeconds = (performance.now() - bulkStart) / 1000
  console.log(
    `\nScale: ${options.keys} keys (${keyIds.length} bulk-created in ${fmt(bulkSeconds, 1)} s, ` +
      `${fmt(keyIds.length / bulkSeconds, 0)} keys/s, one transaction)`,
  )
  server = await start()
  try {
    await waitUntilIdle(server.child.pid!)
    const pid = server.child.pid!
    // Signed now: every measured request is sent within the five minutes SigV4 allows.
    const [one] = await signEncrypts(server.url, credentials, [oneKeyId])
    const warmSet = await signEncrypts(server.url, credentials, sample(keyIds, WARM_KEYS))
    // Enough distinct keys that no request of the cold run names a key used before in it.
    const coldCount = Math.min(keyIds.length - WARM_KEYS, 100_000)
    const coldSet = await signEncrypts(server.url, credentials, sample(keyIds, coldCount))
    const warmSeconds = Math.max(1, options.warmupSeconds)
    // Warm-up: the one-key path, then every key of the warm set used once.
    await closedLoop(server.url, {
      connections: options.connections,
      seconds: warmSeconds,
      next: () => one!,
    })
    // Every key of the warm set used once (however long that takes on a busy machine).
    let w = 0
    await closedLoop(server.url, {
      connections: options.connections,
      seconds: 600,
      next: () => warmSet[w++ % warmSet.length]!,
      done: () => w >= warmSet.length,
    })
    const rssBefore = rssMb(pid)
    let c = 0
    const scenarios = [
      { name: 'Encrypt, one key', next: () => one!, tally: new Tally() },
      {
        name: `Encrypt, random key of ${warmSet.length} warm`,
        next: () => warmSet[Math.floor(Math.random() * warmSet.length)]!,
        tally: new Tally(),
      },
      {
        name: `Encrypt, random key of ${options.keys}, cold`,
        next: () => coldSet[c++ % coldSet.length]!,
        tally: new Tally(),
      },
    ]
    for (let slice = 0; slice < Math.ceil(options.seconds / SLICE_SECONDS); slice++) {
      for (const scenario of scenarios) {
        const cpuBefore = cpuSeconds(pid) ?? Number.NaN
        await closedLoop(server.url, {
          connections: options.connections,
          seconds: SLICE_SECONDS,
          next: scenario.next,
          tally: scenario.tally,
        })
        scenario.tally.cpuSeconds += (cpuSeconds(pid) ?? Number.NaN) - cpuBefore
        scenario.tally.rssMb = Math.max(scenario.tally.rssMb, rssMb(pid))
      }
    }
    const [single, warm, cold] = scenarios.map((x) => x.tally) as [Tally, Tally, Tally]
    const coldWrapped = c > coldSet.length
    // ListKeys over every key, 1,000 per page (AWS's maximum Limit).
    const pages = new LatencyHistogram()
    let pageMax = 0
    let listed = 0
    let marker: string | undefined
    const listStart = performance.now()
    do {
      const t = performance.now()
      const page = await callKms(
        call(server.url, 'ListKeys', { Limit: 1000, ...(marker ? { Marker: marker } : {}) }),
      )
      const ms = performance.now() - t
      pages.record(ms)
      pageMax = Math.max(pageMax, ms)
      listed += (page.Keys as unknown[]).length
      marker = page.Truncated ? (page.NextMarker as string) : undefined
    } while (marker)
    const listSeconds = (performance.now() - listStart) / 1000
    const rssAfter = rssMb(pid)
    console.log(
      `\nScale, ${options.keys} keys, one process, ${options.connections} connections, ` +
        `${options.seconds} s each in turns of ${SLICE_SECONDS} s; RSS ${fmt(rssBefore, 0)} MB ` +
        `after warm-up; load average ${loadText()}:`,
    )
    const header = [
      'scenario',
      'req/s',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
      'cpu µs/req',
      'RSS MB',
      'failed',
    ]
    const body = scenarios.map(({ name, tally: t }) => [
      name,
      fmt(t.requestsPerSecond, 0),
      fmt(t.latencies.percentile(50), 2),
      fmt(t.latencies.percentile(99), 2),
      fmt(t.latencies.percentile(99.9), 2),
      fmt(t.maxMs, 1),
      fmt(t.cpuUsPerRequest, 0),
      fmt(t.rssMb, 0),
      String(t.failed),
    ])
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
    for (const line of [header, widths.map((n) => '-'.repeat(n)), ...body]) {
      console.log(
        line
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
          .join('  '),
      )
    }
    if (coldWrapped)
      console.log(
        `(the cold run used more than its ${coldSet.length} distinct keys: some repeated)`,
      )
    console.log(
      `ListKeys over all: ${listed} keys in ${pages.count} pages, ${fmt(listSeconds, 1)} s; ` +
        `per page p50 ${fmt(pages.percentile(50), 1)} ms, p99 ${fmt(pages.percentile(99), 1)} ms, ` +
        `max ${fmt(pageMax, 1)} ms; RSS after ${fmt(rssAfter, 0)} MB`,
    )
    const ratio = warm.requestsPerSecond / single.requestsPerSecond
    const cpuRatio = single.cpuUsPerRequest / warm.cpuUsPerRequest
    const maxRss = Math.max(rssAfter, single.rssMb, warm.rssMb, cold.rssMb)
    return {
      ok: [single, warm, cold].every((t) => t.failed === 0) && listed === options.keys,
      checks: [
        {
          target: `Encrypt on random warm keys (of ${options.keys}) >= ${TARGET_WARM_RATIO}x one key`,
          measured:
            `${fmt(warm.requestsPerSecond, 0)} / ${fmt(single.requestsPerSecond, 0)} req/s = ${fmt(ratio, 2)}x ` +
            `(by CPU per request ${fmt(cpuRatio, 2)}x; cold ${fmt(cold.requestsPerSecond / single.requestsPerSecond, 2)}x)`,
          met: ratio >= TARGET_WARM_RATIO,
        },
        {
          target: `RSS with ${options.keys} keys < ${TARGET_RSS_MB} MB`,
          measured: `${fmt(maxRss, 0)} MB`,
          met: maxRss < TARGET_RSS_MB,
        },
      ],
    }
  } finally {
    await server.stop()
  }
}
