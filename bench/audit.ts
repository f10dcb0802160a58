import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLoad, type LoadResult } from './load.js'
import { cpuSeconds, startServer, type ServerProcess } from './processes.js'
import { callKms, type BenchPartOptions, type KmsCall } from './signing.js'
import type { TargetCheck } from './targets.js'
import { FileAuditTrail } from '../src/adapters/audit-file/file-audit-trail.js'
import { AUDIT_FIELDS, requestParameters, responseElements } from '../src/core/audit-fields.js'
import type { AuditEvent } from '../src/ports/audit-sink.js'
import { systemClock } from '../src/ports/clock.js'

/**
 * The audit trail's cost (issue 15): Encrypt on a Keyward writing its audit trail (the
 * default of `keyward serve`) beside one started with `--no-audit`, same machine, same run,
 * one process each, measured in alternation (off and on, six rounds, ABBA) so that a
 * change of the machine's load falls on both. Target: with the trail ≥ 0.85× the requests per
 * second without it (the rates of all rounds averaged). Each round's own ratio and each
 * server's CPU time per request are printed beside it: on a shared machine a neighbour's burst
 * moves one slice of one round, which the per-round ratios show.
 */
export const TARGET_AUDIT_RATIO = 0.85

const PLAINTEXT = Buffer.alloc(256, 'keyward-audit-bench-').toString('base64')

/** Alternations of off and on; the part's time is split between them. */
const ROUNDS = 6

/**
 * A slice shorter than this measures mostly its start (connections opening, the first
 * requests after an idle spell): with BENCH_DURATION=5 a quarter would be 1.25 s.
 */
const MIN_SLICE_SECONDS = 3

/** One slice of load on one server, with the server's CPU time per request it served. */
interface Slice {
  readonly load: LoadResult
  readonly cpuMicrosPerRequest: number | undefined
}

/**
 * Runs the comparison; returns the target's check and whether every request succeeded.
 *
 * @example
 *   const { check, ok } = await benchAudit({ keywardBin, env, credentials, seconds: 10, warmupSeconds: 2, connections: 32 })
 */
export async function benchAudit(
  options: BenchPartOptions,
): Promise<{ check: TargetCheck; ok: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-audit-'))
  const servers: ServerProcess[] = []
  try {
    const start = async (mode: 'on' | 'off') => {
      const dataDir = join(dir, mode)
      mkdirSync(dataDir)
      const server = await startServer(
        [
          options.keywardBin,
          'serve',
          '--host',
          '127.0.0.1',
          '--port',
          '0',
          '--data-dir',
          dataDir,
          ...(mode === 'off' ? ['--no-audit'] : []),
        ],
        { ready: /listening on (http:\/\/\S+)/, env: options.env() },
      )
      servers.push(server)
      const call = (op: string, body: object): KmsCall => ({
        endpoint: server.url,
        target: `TrentService.${op}`,
        body: JSON.stringify(body),
        credentials: options.credentials,
      })
      const keyId = ((await callKms(call('CreateKey', {}))).KeyMetadata as { KeyId: string }).KeyId
      const encrypt = call('Encrypt', { KeyId: keyId, Plaintext: PLAINTEXT })
      if (typeof (await callKms(encrypt)).CiphertextBlob !== 'string') {
        throw new Error(`Encrypt with the audit trail ${mode} gave no ciphertext`)
      }
      return { mode, dataDir, encrypt, pid: server.child.pid! }
    }
    const modes = [await start('off'), await start('on')]
    const load = { connections: options.connections }
    for (const m of modes) {
      if (options.warmupSeconds > 0)
        await runLoad(m.encrypt, { ...load, seconds: options.warmupSeconds })
    }
    const results: Record<'on' | 'off', Slice[]> = { on: [], off: [] }
    const slice = Math.max(MIN_SLICE_SECONDS, options.seconds / ROUNDS)
    for (let round = 0; round < ROUNDS; round++) {
      // Off then on, then on then off (ABBA): a load that rises or falls steadily during a
      // round favours neither.
      for (const m of round % 2 === 0 ? modes : [...modes].reverse()) {
        const before = cpuSeconds(m.pid)
        const result = await runLoad(m.encrypt, { ...load, seconds: slice })
        const after = cpuSeconds(m.pid)
        const served = result.ok
        results[m.mode].push({
          load: result,
          cpuMicrosPerRequest:
            before === undefined || after === undefined || served === 0
              ? undefined
              : ((after - before) * 1e6) / served,
        })
      }
    }
    const rate = (rs: readonly Slice[]) =>
      rs.reduce((sum, r) => sum + r.load.requestsPerSecond, 0) / rs.length
    const [off, on] = [rate(results.off), rate(results.on)]
    const ratio = on / off
    const roundRatios = results.on.map(
      (r, i) => r.load.requestsPerSecond / results.off[i]!.load.requestsPerSecond,
    )
    const trailFiles = readdirSync(join(modes[1]!.dataDir, 'audit', 'main')).filter((name) =>
      name.endsWith('.jsonl'),
    ).length
    console.log(
      `\nEncrypt of 256 B at ${options.connections} connections, one Keyward process each, audit trail off vs on (${ROUNDS} × ${slice} s each, alternating):`,
    )
    for (const [label, rs] of [
      ['audit trail off', results.off],
      ['audit trail on', results.on],
    ] as const) {
      const p99 = Math.max(...rs.map((r) => r.load.p99Ms))
      const failed = rs.reduce((sum, r) => sum + r.load.failed, 0)
      console.log(
        `  ${label.padEnd(16)} ${rate(rs).toFixed(0).padStart(6)} req/s  p99 ${p99.toFixed(2)} ms  failed ${failed}  Keyward CPU ${cpuText(rs)} µs/req`,
      )
    }
    const cost = await trailCpuPerEvent()
    console.log(
      `  the trail's own CPU per event, in this process over ${EVENTS.toLocaleString('en')} Encrypt events: ${cost.total.toFixed(1)} µs (user ${cost.user.toFixed(1)}, system ${cost.system.toFixed(1)})`,
    )
    console.log(
      `  with the trail: ${ratio.toFixed(3)}× (rounds ${roundRatios.map((r) => r.toFixed(2)).join(', ')}; ${trailFiles} trail file(s) written)`,
    )
    const ok = [...results.on, ...results.off].every((r) => r.load.failed === 0)
    return {
      ok,
      check: {
        target: `Encrypt with audit trail ≥ ${TARGET_AUDIT_RATIO}× without`,
        measured: `${on.toFixed(0)} / ${off.toFixed(0)} req/s = ${ratio.toFixed(2)}×`,
        met: ratio >= TARGET_AUDIT_RATIO,
      },
    }
  } catch (error) {
    for (const s of servers)
      console.error(`--- ${s.child.spawnargs.slice(1, 3).join(' ')}:\n${s.tail()}`)
    throw error
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The median CPU time per request over a server's slices, or `?` where /proc was unreadable. */
function cpuText(slices: readonly Slice[]): string {
  const values = slices
    .map((s) => s.cpuMicrosPerRequest)
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b)
  const median = values[Math.floor(values.length / 2)]
  return median === undefined ? '?' : median.toFixed(0)
}

/** Events of the in-process measurement: several batches and a file rotation's worth. */
const EVENTS = 100_000

/**
 * What the file trail itself costs per event, measured in this process without HTTP or a load
 * generator: CPU time (all threads: the writes and fsyncs run in libuv's pool) to build and record
 * {@link EVENTS} Encrypt events as the request core reports them (its allow-listed request
 * and response members included), 500 per turn of the event loop as a busy server produces
 * them, until all are on disk. A second view of the cost beside the A/B above, whose slices a
 * shared machine moves by ±20 %.
 */
async function trailCpuPerEvent(): Promise<{ total: number; user: number; system: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-trail-'))
  const quiet = { info: () => {}, error: () => {}, debug: () => {} }
  const trail = await FileAuditTrail.open({
    dir,
    stream: 'main',
    signingKey: generateKeyPairSync('ed25519').privateKey,
    clock: systemClock,
    logger: quiet,
  })
  try {
    const sink = trail.sink()
    const arn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    const input = { KeyId: arn.slice(arn.indexOf('/') + 1), Plaintext: Buffer.alloc(256) }
    const output = {
      CiphertextBlob: Buffer.alloc(300),
      KeyId: arn,
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    }
    const caller = {
      accountId: '111122223333',
      arn: 'arn:aws:iam::111122223333:user/admin',
      accessKeyId: 'AKIABENCHMARK0000001',
    }
    const encrypt = (): AuditEvent => ({
      operation: 'Encrypt',
      requestId: randomUUID(),
      caller,
      region: 'us-east-1',
      at: Date.now(),
      keys: [{ arn, region: 'us-east-1', keyId: input.KeyId }],
      outcome: 'success',
      eventId: randomUUID(),
      details: {
        sourceIp: '127.0.0.1',
        userAgent: 'aws-sdk-js/3 ua/2.1 os/linux lang/js md/nodejs#20',
        readOnly: AUDIT_FIELDS.Encrypt.readOnly,
        requestParameters: requestParameters('Encrypt', input),
        responseElements: responseElements('Encrypt', output),
      },
    })
    const run = async (events: number) => {
      for (let done = 0; done < events; done += 500) {
        for (let i = 0; i < 500; i++) sink.record(encrypt())
        await new Promise((resolve) => setImmediate(resolve))
      }
      await trail.flush()
    }
    await run(EVENTS / 5) // warm-up: V8 optimises after enough calls
    const before = process.cpuUsage()
    await run(EVENTS)
    const used = process.cpuUsage(before)
    return {
      total: (used.user + used.system) / EVENTS,
      user: used.user / EVENTS,
      system: used.system / EVENTS,
    }
  } finally {
    await trail.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
