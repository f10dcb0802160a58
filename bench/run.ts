import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchAsymmetric } from './asymmetric.js'
import { setUpAuthzKey, TARGET_AUTHZ_RATIO, writeAuthzPrincipals, AUTHZ_GRANTS } from './authz.js'
import { benchHsm, softHsmAvailable } from './hsm.js'
import { benchScale } from './scale.js'
import { benchPostgres } from './postgres.js'
import { benchXks } from './xks.js'
import { benchAudit } from './audit.js'
import { benchXksProxy } from './xks-proxy.js'
import { runLoad, warmUp, type LoadResult } from './load.js'
import { cpuSeconds, startServer, waitUntilIdle, type ServerProcess } from './processes.js'
import { summarizeCpuProfile, type HotSpot } from './profile-summary.js'
import { callKms, signKmsCall, type BenchCredentials, type KmsCall } from './signing.js'
import { runOpenLoop, type OpenLoopResult } from './open-loop.js'
import { loadText, printTargetSummary, type TargetCheck } from './targets.js'

/**
 * `npm run bench`: Keyward's Encrypt, Decrypt and GenerateDataKey against a bare node:http
 * AES-GCM server, measured in the same run on the same machine.
 *
 * - Keyward runs as a child process (`node bin/keyward.js serve`) in normal, non-dev mode over
 *   a temporary data directory, so every request pays real SigV4 verification and a SQLite-backed
 *   key lookup; the baseline (bench/baseline-server.ts) runs as another child.
 * - This process is the load generator (autocannon over keep-alive connections on 127.0.0.1),
 *   so it never shares an event loop with a server. On a 2-core machine the generator and the
 *   server compete for the same two cores: the absolute numbers are lower than on a host with a
 *   separate load generator, and the ratio is the figure to read.
 * - Two baselines (bench/baseline-server.ts): bare (no authentication) and `--sigv4` (verifies
 *   every signature as a careful server does, bench/baseline-sigv4.ts).
 * - Targets (issue 10), printed in one summary with the load average:
 *   1. open-loop latency (bench/open-loop.ts): Encrypt at 50 % of the bare baseline's maximum
 *      rate measured in this run (closed loop, 32 connections), p99 < 5 ms and < 2× the bare
 *      baseline's p99 at that same rate;
 *   2. server CPU per Encrypt of a one-process, non-dev Keyward ≤ 1.2× the SigV4 baseline's,
 *      both at 32 connections, in the same run;
 *   3. with BENCH_HSM, the HSM overhead (bench/hsm.ts) ≤ 1.2;
 *   4. Encrypt as a non-admin principal under a realistic key policy, an identity policy and
 *      10 grants (bench/authz.ts) ≥ 0.9× the admin Encrypt's requests/s, same server, same run
 *      (issue 12).
 *   Requests/s and the closed-loop p99 are printed for reference.
 *
 * Environment: BENCH_DURATION (seconds per scenario, default 10), BENCH_WARMUP (seconds of
 * unmeasured load before each scenario, default 2, and at least WARMUP_REQUESTS requests), BENCH_CONNECTIONS (default "32,128"),
 * BENCH_PROFILE=1 (run Keyward under `node --cpu-prof` and print its hot spots),
 * BENCH_ENFORCE=1 (exit 1 when a target is missed), BENCH_WORKERS (keyward serve --workers;
 * default one per core, as the brief allows; on a 2-core machine busy with other work 1 can do
 * better, since a second worker competes with the load generator), BENCH_ASYMMETRIC=0 (leave out the Sign/Verify/
 * GenerateMac part, e.g. to profile the symmetric path alone), BENCH_HSM=1 (add Encrypt on a
 * key of a CloudHSM-type custom key store over SoftHSMv2 beside raw AES-GCM on the same token;
 * needs softhsm2, see bench/hsm.ts), BENCH_XKS=1 (add Keyward's XKS proxy alone, Encrypt over TLS
 * at AWS's 1,800 requests/s quota and as fast as it goes, see bench/xks-proxy.ts, which also runs
 * alone as `node dist/bench/xks-proxy.js`; then Encrypt on a key of an external key store
 * through Keyward's XKS proxy beside Encrypt on a software key, see bench/xks.ts),
 * BENCH_SCALE=1 (add one Keyward over a store of BENCH_KEYS keys, default 1,000,000,
 * bulk-created in its database: Encrypt on one key, on random warm keys and on random cold
 * keys, p99.9, maximum latency, RSS, and ListKeys over all of them; see bench/scale.ts),
 * BENCH_STORE=postgres (add Encrypt and CreateKey over PostgreSQL beside SQLite, and two nodes
 * over one database, see bench/postgres.ts; BENCH_PG_URL names the database, else a throwaway
 * cluster is made), BENCH_ONLY=hsm, xks, scale, audit or a list of them (those parts alone, without the software-key
 * scenarios and the asymmetric part; `audit` is Encrypt with the audit trail beside without,
 * bench/audit.ts, which every full run includes), BENCH_OPEN_LOOP_CONNECTIONS (sockets of the open-loop
 * generator, default 64).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/**
 * The Keyward to measure: this checkout's, or BENCH_KEYWARD_BIN (another checkout's
 * bin/keyward.js, built), so that two versions can be compared against the same baselines.
 */
const KEYWARD_BIN = process.env.BENCH_KEYWARD_BIN || join(ROOT, 'bin/keyward.js')
const CREDENTIALS: BenchCredentials = {
  accessKeyId: 'AKIABENCHMARK0000001',
  secretAccessKey: 'bench-secret-not-for-production-00000001',
}
const TARGET_P99_MS = 5
/** Keyward's open-loop p99 must also stay under this multiple of the baseline's. */
const TARGET_P99_VS_BASELINE = 2
/** Keyward's CPU per Encrypt at most this multiple of the SigV4 baseline's. */
const TARGET_CPU_RATIO = 1.2
/** The open-loop rate, as a share of the bare baseline's closed-loop maximum. */
const OPEN_LOOP_SHARE = 0.5
const TARGET_CONNECTIONS = 32
const PLAINTEXT_BYTES = 256

interface Settings {
  readonly seconds: number
  readonly warmupSeconds: number
  readonly connections: readonly number[]
  readonly profile: boolean
  readonly enforce: boolean
  /** `keyward serve --workers`: one process per core by default. */
  readonly workers: number
  readonly asymmetric: boolean
  readonly hsm: boolean
  readonly xks: boolean
  /** BENCH_SCALE: the many-keys part (bench/scale.ts), with BENCH_KEYS keys. */
  readonly scale: boolean
  readonly keys: number
  /** Encrypt with the audit trail beside without (bench/audit.ts); always unless BENCH_ONLY omits it. */
  readonly audit: boolean
  /** BENCH_ONLY set: skip the software-key scenarios and the asymmetric part. */
  readonly onlyParts: boolean
  readonly openLoopConnections: number
}

function intFromEnv(name: string, fallback: number, range: { min: number; max: number }): number {
  const raw = process.env[name]
  const value = raw === undefined || raw === '' ? fallback : Number(raw)
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new Error(`${name} must be an integer from ${range.min} to ${range.max}, got '${raw}'`)
  }
  return value
}

function readSettings(): Settings {
  const connections = (process.env.BENCH_CONNECTIONS || '32,128').split(',').map((s) => Number(s))
  if (connections.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) {
    throw new Error(`BENCH_CONNECTIONS must list integers from 1 to 1024, got '${connections}'`)
  }
  const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean)
  if (only.some((part) => !['hsm', 'xks', 'scale', 'audit'].includes(part))) {
    throw new Error(`BENCH_ONLY must list parts among hsm, xks, scale and audit, got '${only}'`)
  }
  return {
    // Bounded, so a typo cannot keep the machine busy for hours.
    seconds: intFromEnv('BENCH_DURATION', 10, { min: 1, max: 3600 }),
    warmupSeconds: intFromEnv('BENCH_WARMUP', 2, { min: 0, max: 60 }),
    connections,
    profile: process.env.BENCH_PROFILE === '1',
    enforce: process.env.BENCH_ENFORCE === '1',
    workers: intFromEnv('BENCH_WORKERS', Math.min(availableParallelism(), 8), { min: 1, max: 64 }),
    asymmetric: process.env.BENCH_ASYMMETRIC !== '0',
    hsm: process.env.BENCH_HSM === '1' || only.includes('hsm'),
    xks: process.env.BENCH_XKS === '1' || only.includes('xks'),
    scale: process.env.BENCH_SCALE === '1' || only.includes('scale'),
    keys: intFromEnv('BENCH_KEYS', 1_000_000, { min: 2, max: 10_000_000 }),
    audit: only.length === 0 || only.includes('audit'),
    onlyParts: only.length > 0,
    openLoopConnections: intFromEnv('BENCH_OPEN_LOOP_CONNECTIONS', 64, { min: 1, max: 1024 }),
  }
}

/** The environment of the baselines: the SigV4 one accepts the bench's credential. */
function baselineEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BASELINE_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    BASELINE_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  }
}

/** The environment of the Keyward child: nothing KEYWARD_* leaks in from the caller's shell. */
function keywardEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KEYWARD_')) env[k] = v
  env.KEYWARD_ROOT_ACCESS_KEY_ID = CREDENTIALS.accessKeyId
  env.KEYWARD_ROOT_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey
  return env
}

/** The servers of the software part; 'keyward (1 process)' only when BENCH_WORKERS > 1. */
type ServerName = 'baseline' | 'baseline sigv4' | 'keyward' | 'keyward (1 process)'

interface Scenario {
  readonly server: ServerName
  readonly operation:
    | 'Encrypt'
    | 'Encrypt as admin, same key and body'
    | 'Encrypt as non-admin'
    | 'Decrypt'
    | 'GenerateDataKey'
  readonly connections: number
  readonly call: KmsCall
  /** Checks one real answer before the load starts. */
  readonly check: (answer: Record<string, unknown>) => boolean
}

interface Measured extends Scenario {
  readonly result: LoadResult
  /** Server CPU time (user + system) per answered request, in µs; NaN where unmeasurable. */
  readonly cpuUsPerRequest: number
}

/** Where each server of the software part listens. */
type Endpoints = Partial<Record<ServerName, string>> & {
  readonly baseline: string
  readonly 'baseline sigv4': string
  readonly keyward: string
}

const call = (endpoint: string, op: string, body: object): KmsCall => ({
  endpoint,
  target: `TrentService.${op}`,
  body: JSON.stringify(body),
  credentials: CREDENTIALS,
})

/** An Encrypt body under a fresh key of the Keyward at `endpoint`, and its key ARN. */
async function encryptBodyOn(endpoint: string): Promise<{ body: object; arn: string }> {
  const created = await callKms(call(endpoint, 'CreateKey', { Description: 'keyward bench' }))
  const meta = created.KeyMetadata as { KeyId: string; Arn: string }
  const plaintext = Buffer.alloc(PLAINTEXT_BYTES, 'keyward-bench-').toString('base64')
  return { body: { KeyId: meta.KeyId, Plaintext: plaintext }, arn: meta.Arn }
}

/** The scenarios, ordered so that each baseline run sits next to the Keyward run it is compared with. */
async function buildScenarios(
  endpoints: Endpoints,
  connections: readonly number[],
): Promise<Scenario[]> {
  const { keyward } = endpoints
  const { body: encryptBody, arn } = await encryptBodyOn(keyward)
  const single = endpoints['keyward (1 process)']
  const singleKey = single === undefined ? undefined : await encryptBodyOn(single)
  const plaintext = (encryptBody as { Plaintext: string }).Plaintext
  const sealed = await callKms(call(keyward, 'Encrypt', encryptBody))
  const isCiphertextOf = (keyArn: string) => (a: Record<string, unknown>) =>
    typeof a.CiphertextBlob === 'string' && a.KeyId === keyArn
  const isCiphertext = isCiphertextOf(arn)
  // The non-admin Encrypt runs on the server the CPU target measures, right after its admin
  // Encrypt at the same connections.
  const authzServer: ServerName = single ? 'keyward (1 process)' : 'keyward'
  const authz = await setUpAuthzKey(endpoints[authzServer]!, { admin: CREDENTIALS, plaintext })
  const scenarios: Scenario[] = []
  for (const c of connections) {
    for (const server of ['baseline', 'baseline sigv4'] as const) {
      scenarios.push({
        server,
        operation: 'Encrypt',
        connections: c,
        call: call(endpoints[server], 'Encrypt', encryptBody),
        check: (a) => typeof a.CiphertextBlob === 'string',
      })
    }
    scenarios.push({
      server: 'keyward',
      operation: 'Encrypt',
      connections: c,
      call: call(keyward, 'Encrypt', encryptBody),
      check: isCiphertext,
    })
    if (single && singleKey) {
      scenarios.push({
        server: 'keyward (1 process)',
        operation: 'Encrypt',
        connections: c,
        call: call(single, 'Encrypt', singleKey.body),
        check: isCiphertextOf(singleKey.arn),
      })
    }
    scenarios.push({
      server: authzServer,
      operation: 'Encrypt as admin, same key and body',
      connections: c,
      call: authz.adminCall,
      check: isCiphertextOf(authz.arn),
    })
    scenarios.push({
      server: authzServer,
      operation: 'Encrypt as non-admin',
      connections: c,
      call: authz.call,
      check: isCiphertextOf(authz.arn),
    })
  }
  for (const c of connections) {
    scenarios.push({
      server: 'keyward',
      operation: 'Decrypt',
      connections: c,
      call: call(keyward, 'Decrypt', { CiphertextBlob: sealed.CiphertextBlob }),
      check: (a) => a.Plaintext === plaintext && a.KeyId === arn,
    })
  }
  for (const c of connections) {
    scenarios.push({
      server: 'keyward',
      operation: 'GenerateDataKey',
      connections: c,
      call: call(keyward, 'GenerateDataKey', {
        KeyId: (encryptBody as { KeyId: string }).KeyId,
        KeySpec: 'AES_256',
      }),
      check: (a) => isCiphertext(a) && Buffer.from(String(a.Plaintext), 'base64').length === 32,
    })
  }
  return scenarios
}

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-')

/** Prints rows of cells, the first two left-aligned, the rest right-aligned. */
function printRows(header: readonly string[], body: readonly string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of body) console.log(line(row))
}

function printTable(rows: readonly Measured[]): void {
  printRows(
    ['server', 'operation', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'cpu µs/req', 'failed'],
    rows.map((r) => [
      r.server,
      r.operation,
      String(r.connections),
      fmt(r.result.requestsPerSecond, 0),
      fmt(r.result.p50Ms, 2),
      fmt(r.result.p99Ms, 2),
      fmt(r.cpuUsPerRequest, 0),
      String(r.result.failed),
    ]),
  )
}

/** The Encrypt row of `server` at the target's connection count. */
const encryptRow = (rows: readonly Measured[], server: ServerName) =>
  rows.find(
    (r) => r.server === server && r.operation === 'Encrypt' && r.connections === TARGET_CONNECTIONS,
  )

/** The CPU target: one-process Keyward against the SigV4 baseline, with the rates beside. */
function cpuTarget(rows: readonly Measured[]): TargetCheck {
  const kw = encryptRow(rows, 'keyward (1 process)') ?? encryptRow(rows, 'keyward')
  const base = encryptRow(rows, 'baseline sigv4')
  const bare = encryptRow(rows, 'baseline')
  const target = `CPU per Encrypt, Keyward (1 process) <= ${TARGET_CPU_RATIO}x SigV4 baseline`
  if (!kw || !base || !Number.isFinite(kw.cpuUsPerRequest + base.cpuUsPerRequest)) {
    return { target, measured: `needs a run at ${TARGET_CONNECTIONS} connections`, met: undefined }
  }
  const ratio = kw.cpuUsPerRequest / base.cpuUsPerRequest
  console.log(
    `\nEncrypt at ${TARGET_CONNECTIONS} connections: server CPU per request Keyward ${fmt(kw.cpuUsPerRequest, 0)} µs, ` +
      `SigV4 baseline ${fmt(base.cpuUsPerRequest, 0)} µs (${fmt(ratio, 2)}×), bare baseline ${fmt(bare?.cpuUsPerRequest ?? NaN, 0)} µs; ` +
      `req/s Keyward ${fmt(kw.result.requestsPerSecond, 0)}, SigV4 baseline ${fmt(base.result.requestsPerSecond, 0)}, ` +
      `bare baseline ${fmt(bare?.result.requestsPerSecond ?? NaN, 0)}`,
  )
  return {
    target,
    measured: `${fmt(kw.cpuUsPerRequest, 0)} / ${fmt(base.cpuUsPerRequest, 0)} µs = ${fmt(ratio, 2)}x`,
    met: ratio <= TARGET_CPU_RATIO,
  }
}

/**
 * The authorization target: the non-admin Encrypt against the same request (same key, body and
 * connections) signed by the admin, so that only the principal, and so the policies evaluated,
 * differ. The admin's Encrypt of the main scenario (another key, no encryption context) is
 * printed beside it: that ratio also counts the encryption context's own cost.
 */
function authzTarget(rows: readonly Measured[]): TargetCheck {
  const target = `Encrypt as non-admin (key policy, identity policy, ${AUTHZ_GRANTS} grants) >= ${TARGET_AUTHZ_RATIO}x admin req/s`
  let check: TargetCheck = {
    target,
    measured: `needs a run at ${TARGET_CONNECTIONS} connections`,
    met: undefined,
  }
  console.log('')
  for (const user of rows.filter((r) => r.operation === 'Encrypt as non-admin')) {
    const row = (operation: string) =>
      rows.find(
        (r) =>
          r.server === user.server &&
          r.operation === operation &&
          r.connections === user.connections,
      )
    const sameCall = row('Encrypt as admin, same key and body')
    if (!sameCall) continue
    const rate = user.result.requestsPerSecond / sameCall.result.requestsPerSecond
    const cpu = user.cpuUsPerRequest / sameCall.cpuUsPerRequest
    const plain = row('Encrypt')
    const vsPlain = plain
      ? `; vs the admin's Encrypt without context ${fmt(user.result.requestsPerSecond / plain.result.requestsPerSecond, 2)}×`
      : ''
    console.log(
      `Encrypt as non-admin vs the same call as admin on ${user.server}, ${user.connections} connections: ` +
        `req/s ${fmt(user.result.requestsPerSecond, 0)} / ${fmt(sameCall.result.requestsPerSecond, 0)} = ${fmt(rate, 2)}×, ` +
        `CPU ${fmt(user.cpuUsPerRequest, 0)} / ${fmt(sameCall.cpuUsPerRequest, 0)} µs/req = ${fmt(cpu, 2)}×${vsPlain}`,
    )
    if (user.connections === TARGET_CONNECTIONS) {
      check = {
        target,
        measured: `${fmt(user.result.requestsPerSecond, 0)} / ${fmt(sameCall.result.requestsPerSecond, 0)} req/s = ${fmt(rate, 2)}x (CPU ${fmt(cpu, 2)}x)`,
        met: rate >= TARGET_AUTHZ_RATIO,
      }
    }
  }
  return check
}

/**
 * Encrypt open loop (bench/open-loop.ts) at half the bare baseline's closed-loop rate, on the
 * bare baseline, the SigV4 baseline and Keyward in turn, each after a warm-up at that rate.
 */
async function openLoopLatency(
  settings: Settings,
  run: { rows: readonly Measured[]; scenarios: readonly Scenario[] },
): Promise<{ checks: TargetCheck[]; failed: boolean }> {
  const bare = encryptRow(run.rows, 'baseline')
  const p99Target = `open-loop Encrypt p99 < ${TARGET_P99_MS} ms`
  const vsTarget = `open-loop Encrypt p99 < ${TARGET_P99_VS_BASELINE}x bare baseline p99`
  if (!bare) {
    const measured = `needs a run at ${TARGET_CONNECTIONS} connections`
    return {
      checks: [
        { target: p99Target, measured, met: undefined },
        { target: vsTarget, measured, met: undefined },
      ],
      failed: false,
    }
  }
  const rate = Math.max(1, Math.round(OPEN_LOOP_SHARE * bare.result.requestsPerSecond))
  const results: Array<{ server: ServerName; result: OpenLoopResult }> = []
  // One process against the one-process baselines: more workers would also compete with the
  // load generator for the cores, and its lateness would count as latency.
  const keyward = run.scenarios.some((x) => x.server === 'keyward (1 process)')
    ? 'keyward (1 process)'
    : 'keyward'
  for (const server of ['baseline', 'baseline sigv4', keyward] as const) {
    const s = run.scenarios.find((x) => x.server === server && x.operation === 'Encrypt')!
    const request = { url: s.call.endpoint, body: s.call.body, sign: () => signKmsCall(s.call) }
    const load = { rate, connections: settings.openLoopConnections }
    if (settings.warmupSeconds > 0) {
      await runOpenLoop(request, { ...load, seconds: settings.warmupSeconds })
    }
    results.push({
      server,
      result: await runOpenLoop(request, { ...load, seconds: settings.seconds }),
    })
    process.stderr.write(`  done: open loop ${server} at ${rate}/s\n`)
  }
  console.log(
    `\nEncrypt open loop at ${rate} req/s (${100 * OPEN_LOOP_SHARE} % of the bare baseline's ` +
      `${fmt(bare.result.requestsPerSecond, 0)} req/s), ${settings.openLoopConnections} connections, ` +
      `latency from the scheduled send time; load average ${loadText()}:`,
  )
  printRows(
    ['server', 'operation', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'send lag p99', 'failed'],
    results.map(({ server, result: r }) => [
      server,
      'Encrypt',
      fmt(r.achievedRate, 0),
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      fmt(r.p999Ms, 2),
      fmt(r.sendLagP99Ms, 2),
      String(r.failed),
    ]),
  )
  const kw = results.find((r) => r.server === keyward)!.result
  const base = results.find((r) => r.server === 'baseline')!.result
  return {
    checks: [
      { target: p99Target, measured: `${fmt(kw.p99Ms, 2)} ms`, met: kw.p99Ms < TARGET_P99_MS },
      {
        target: vsTarget,
        measured: `${fmt(kw.p99Ms, 2)} / ${fmt(base.p99Ms, 2)} ms = ${fmt(kw.p99Ms / base.p99Ms, 2)}x`,
        met: kw.p99Ms < TARGET_P99_VS_BASELINE * base.p99Ms,
      },
    ],
    failed: results.some((r) => r.result.failed > 0),
  }
}

function printProfile(dir: string): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  if (files.length === 0) {
    console.log(`\nNo CPU profile was written in ${dir} (did Keyward exit cleanly?)`)
    return
  }
  for (const file of files) {
    const summary = summarizeCpuProfile(join(dir, file), { root: ROOT, ownPrefix: 'dist/src/' })
    console.log(
      `\nKeyward CPU profile ${join(dir, file)} (busy ${fmt(summary.busyMs / 1000, 1)} s)`,
    )
    const list = (title: string, spots: readonly HotSpot[]) => {
      console.log(`  ${title}:`)
      for (const h of spots) console.log(`    ${fmt(h.percent, 1).padStart(5)} %  ${h.name}`)
    }
    list('self time by function', summary.functions)
    list('self time by file', summary.files)
    list("inclusive time of Keyward's own functions", summary.ownInclusive)
  }
}

/** Starts `keyward serve` over `dataDir` with `workers` processes. */
function startKeyward(
  settings: Settings,
  run: { dataDir: string; profileDir: string; workers: number },
): Promise<ServerProcess> {
  const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', run.dataDir]
  return startServer([KEYWARD_BIN, ...args, '--workers', String(run.workers)], {
    ready: /listening on (http:\/\/\S+)/,
    env: keywardEnv(),
    ...(settings.profile
      ? { nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${run.profileDir}`] }
      : {}),
  })
}

/** Starts the bare baseline, or with `sigv4` the one that verifies every signature. */
function startBaseline(sigv4: boolean): Promise<ServerProcess> {
  const script = fileURLToPath(new URL('./baseline-server.js', import.meta.url))
  return startServer(sigv4 ? [script, '--sigv4'] : [script], {
    ready: /listening on (http:\/\/\S+)/,
    env: baselineEnv(),
  })
}

/** Runs each scenario (check, warm-up, measured closed loop) with its server's CPU time. */
async function measureScenarios(
  settings: Settings,
  run: { scenarios: readonly Scenario[]; pids: Readonly<Partial<Record<ServerName, number>>> },
): Promise<Measured[]> {
  const rows: Measured[] = []
  for (const s of run.scenarios) {
    if (!s.check(await callKms(s.call))) {
      throw new Error(`${s.server} ${s.operation} gave an unexpected answer before the run`)
    }
    await warmUp(s.call, { connections: s.connections, seconds: settings.warmupSeconds })
    const pid = run.pids[s.server]!
    const cpuBefore = cpuSeconds(pid)
    const result = await runLoad(s.call, {
      connections: s.connections,
      seconds: settings.seconds,
    })
    const cpuAfter = cpuSeconds(pid)
    const cpuUsPerRequest =
      cpuBefore === undefined || cpuAfter === undefined
        ? Number.NaN
        : ((cpuAfter - cpuBefore) * 1e6) / (result.ok + result.failed)
    rows.push({ ...s, result, cpuUsPerRequest })
    process.stderr.write(`  done: ${s.server} ${s.operation} x${s.connections}\n`)
  }
  return rows
}

/**
 * The software-key part: Keyward against the two baselines (Encrypt, with Decrypt and
 * GenerateDataKey for reference), the CPU comparison, the open-loop latency, then
 * Sign/Verify/GenerateMac. Servers started here are pushed on `servers` for the caller to stop.
 */
async function benchSoftware(
  settings: Settings,
  run: { dataDir: string; profileDir: string; servers: ServerProcess[] },
): Promise<{ failed: boolean; checks: TargetCheck[] }> {
  const { dataDir, profileDir, servers } = run
  const baseline = await startBaseline(false)
  servers.push(baseline)
  const baselineSigv4 = await startBaseline(true)
  servers.push(baselineSigv4)
  // The principals files of the non-admin scenario, written before the first start.
  writeAuthzPrincipals(join(dataDir, 'main'), CREDENTIALS)
  if (settings.workers > 1) writeAuthzPrincipals(join(dataDir, 'single'), CREDENTIALS)
  const keyward = await startKeyward(settings, {
    dataDir: join(dataDir, 'main'),
    profileDir,
    workers: settings.workers,
  })
  servers.push(keyward)
  // The CPU target is on one process; with more workers, a second Keyward of one process.
  const single =
    settings.workers > 1
      ? await startKeyward(settings, { dataDir: join(dataDir, 'single'), profileDir, workers: 1 })
      : undefined
  if (single) servers.push(single)
  // Keyward compiles its validators in the background once listening: let it finish first.
  for (const server of [keyward, single]) if (server) await waitUntilIdle(server.child.pid!)
  console.log(
    `baseline pid ${baseline.child.pid} at ${baseline.url}; SigV4 baseline pid ${baselineSigv4.child.pid} at ${baselineSigv4.url}; ` +
      `keyward (${settings.workers} worker(s)) pid ${keyward.child.pid} at ${keyward.url}` +
      (single ? `; keyward (1 process) pid ${single.child.pid} at ${single.url}` : '') +
      '\n',
  )
  const scenarios = await buildScenarios(
    {
      baseline: baseline.url,
      'baseline sigv4': baselineSigv4.url,
      keyward: keyward.url,
      ...(single ? { 'keyward (1 process)': single.url } : {}),
    },
    settings.connections,
  )
  const rows = await measureScenarios(settings, {
    scenarios,
    pids: {
      baseline: baseline.child.pid!,
      'baseline sigv4': baselineSigv4.child.pid!,
      keyward: keyward.child.pid!,
      ...(single ? { 'keyward (1 process)': single.child.pid! } : {}),
    },
  })
  let failed = rows.some((r) => r.result.failed > 0)
  console.log('')
  printTable(rows)
  const checks = [cpuTarget(rows), authzTarget(rows)]
  const openLoop = await openLoopLatency(settings, { rows, scenarios })
  checks.unshift(...openLoop.checks)
  if (openLoop.failed) failed = true
  // Asymmetric and HMAC keys (issue 3): Sign/Verify and GenerateMac beside the same
  // primitive called directly; see bench/asymmetric.ts.
  if (settings.asymmetric) {
    const asymmetricOk = await benchAsymmetric({
      keyward: keyward.url,
      credentials: CREDENTIALS,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      connections: TARGET_CONNECTIONS,
    })
    if (!asymmetricOk) failed = true
  }
  return { failed, checks }
}

async function main(): Promise<number> {
  const settings = readSettings()
  const cpu = cpus()
  console.log(
    `keyward bench ${new Date().toISOString()}: node ${process.version}, ${cpu.length} CPU(s) (${cpu[0]?.model ?? 'unknown'}), ` +
      `${settings.seconds} s per scenario after ${settings.warmupSeconds} s warm-up, ` +
      `${PLAINTEXT_BYTES}-byte plaintext, load generator in this process (pid ${process.pid}), ` +
      `load average before start ${loadText()}`,
  )
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-bench-'))
  const profileDir = settings.profile ? mkdtempSync(join(tmpdir(), 'keyward-bench-prof-')) : ''
  const servers: ServerProcess[] = []
  const stopAll = () => Promise.all(servers.map((s) => s.stop()))
  const onSignal = () => void stopAll().finally(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let failed = false
  const checks: TargetCheck[] = []
  try {
    if (!settings.onlyParts) {
      const software = await benchSoftware(settings, { dataDir, profileDir, servers })
      failed = software.failed
      checks.push(...software.checks)
    }
    // The audit trail's cost (issue 15): bench/audit.ts, with its own two Keywards.
    if (settings.audit) {
      const audit = await benchAudit({
        env: keywardEnv,
        keywardBin: KEYWARD_BIN,
        credentials: CREDENTIALS,
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        connections: TARGET_CONNECTIONS,
      })
      if (!audit.ok) failed = true
      checks.push(audit.check)
    }
    // Keys in a PKCS#11 token (issue 5): bench/hsm.ts, with its own Keyward and SoftHSM.
    if (settings.hsm && !softHsmAvailable()) {
      console.log('\nBENCH_HSM=1 but SoftHSMv2 is not installed (apt-get install softhsm2).')
    } else if (settings.hsm) {
      const hsm = await benchHsm({
        env: keywardEnv,
        keywardBin: join(ROOT, 'bin/keyward.js'),
        credentials: CREDENTIALS,
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        connections: TARGET_CONNECTIONS,
        ...(settings.profile
          ? { nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] }
          : {}),
      })
      if (!hsm.ok) failed = true
      checks.push(...hsm.checks)
    }
    // Keyward's XKS proxy alone (issue 6): bench/xks-proxy.ts, with its own proxy processes.
    if (settings.xks) {
      const proxyOk = await benchXksProxy({
        keywardBin: join(ROOT, 'bin/keyward.js'),
        env: keywardEnv(),
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        connections: TARGET_CONNECTIONS,
        enforce: settings.enforce,
      })
      if (!proxyOk) failed = true
    }
    // Keys of an external key store (issue 6): bench/xks.ts, with its own Keyward and proxy.
    if (settings.xks) {
      const xksOk = await benchXks({
        env: keywardEnv,
        keywardBin: join(ROOT, 'bin/keyward.js'),
        credentials: CREDENTIALS,
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        connections: TARGET_CONNECTIONS,
      })
      if (!xksOk) failed = true
    }
    // Many keys (issue 13): bench/scale.ts, with its own Keyward and bulk-created store.
    if (settings.scale) {
      const scale = await benchScale({
        keywardBin: join(ROOT, 'bin/keyward.js'),
        env: keywardEnv,
        credentials: CREDENTIALS,
        dataDir: join(dataDir, 'scale'),
        keys: settings.keys,
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        connections: TARGET_CONNECTIONS,
        ...(settings.profile
          ? { nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] }
          : {}),
      })
      if (!scale.ok) failed = true
      checks.push(...scale.checks)
    }
    // Over PostgreSQL (issue 13): bench/postgres.ts, with its own Keywards and database.
    if (process.env.BENCH_STORE === 'postgres') {
      const pgOk = await benchPostgres({
        env: keywardEnv,
        keywardBin: join(ROOT, 'bin/keyward.js'),
        credentials: CREDENTIALS,
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        connections: TARGET_CONNECTIONS,
      })
      if (!pgOk) failed = true
    }
    if (failed)
      console.log('\nSome requests failed (non-2xx, errors or timeouts): the run is not valid.')
  } catch (error) {
    // A server that died explains more than the client's "fetch failed".
    for (const server of servers) {
      const exit = server.child.exitCode ?? server.child.signalCode
      console.error(
        `--- ${server.child.spawnargs.slice(1).join(' ')} (pid ${server.child.pid}${exit === null ? '' : `, exited: ${exit}`}), last output:\n${server.tail()}`,
      )
    }
    throw error
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    const codes = await stopAll()
    if (codes.some((c) => c !== 0)) console.log(`server exit codes: ${codes.join(', ')}`)
    rmSync(dataDir, { recursive: true, force: true })
  }
  if (settings.profile) printProfile(profileDir)
  const targetsMet = printTargetSummary(checks)
  if (failed) return 1
  return settings.enforce && !targetsMet ? 1 : 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  },
)
