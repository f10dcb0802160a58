import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pkcs11Token, type CallMode } from '../src/adapters/pkcs11/pkcs11-token.js'
import { SOFTHSM_MODULE, startSoftHsm } from '../test/support/softhsm.js'
import { runLoad, warmUp, type LoadResult } from './load.js'
import { cpuSeconds, startServer, waitUntilIdle, type ServerProcess } from './processes.js'
import { callKms, type BenchCredentials, type KmsCall } from './signing.js'
import { loadText, type TargetCheck } from './targets.js'

/**
 * The HSM part of `npm run bench` (BENCH_HSM=1 or BENCH_ONLY=hsm, when SoftHSMv2 is installed):
 * Encrypt of 1 KB under a key of a CloudHSM-type custom key store, over HTTP against a Keyward
 * child process, beside raw AES-GCM on the same SoftHSM token through the same binding
 * (Pkcs11Token: the same session pool, handle cache and call mode) in this process, with the
 * same number of operations in flight. Once per call mode (src/adapters/pkcs11/pkcs11-token.ts,
 * CallMode), each on its own token and cluster, Keyward and the raw side always in the same
 * mode, and the same Encrypt under a software key of that Keyward.
 *
 * Target (issue 10): what Keyward adds to the token's work, (CPU per HSM-backed Encrypt − CPU
 * per software-key Encrypt) ÷ the raw side's CPU per token operation, at most 1.2: one token
 * round trip per request and nothing else on the HSM path. A ratio of request rates would
 * measure the machine, since SoftHSM's AES-GCM burns the same two cores as Keyward and the load
 * generator. The Keyward child runs one process, so its CPU is not split over workers.
 */

const PLAINTEXT = Buffer.alloc(1024, 'keyward-hsm-bench-')
const PIN = 'bench-pin-1234'
const TARGET_OVERHEAD = 1.2
const CALL_MODES: readonly CallMode[] = ['async', 'sync']
const CLUSTER_IDS: Readonly<Record<CallMode, string>> = {
  async: 'cluster-benchhsmasync',
  sync: 'cluster-benchhsmsynca',
}
const tokenLabel = (mode: CallMode) => `bench-${mode}`

/** Whether the HSM part can run here. */
export const softHsmAvailable = () => existsSync(SOFTHSM_MODULE)

/** The settings of the HSM part. */
export interface HsmBenchOptions {
  /** The Keyward child's environment, read after SOFTHSM2_CONF is set. */
  readonly env: () => NodeJS.ProcessEnv
  /** Path of bin/keyward.js. */
  readonly keywardBin: string
  readonly credentials: BenchCredentials
  readonly seconds: number
  readonly warmupSeconds: number
  readonly connections: number
  /** Node options of the Keyward child (e.g. --cpu-prof). */
  readonly nodeOptions?: readonly string[]
}

/** What one call mode measured. */
interface ModeResult {
  readonly mode: CallMode
  readonly keywardPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Keyward's CPU (all processes and threads) per request, µs. */
  readonly keywardCpuUs: number
  readonly rawPerSecond: number
  /** This process's CPU (all threads) per raw operation, µs. */
  readonly rawCpuUs: number
  readonly failed: number
}

/**
 * Raw AES-GCM encryptions of PLAINTEXT on `token`, `inFlight` at a time, for `seconds`;
 * returns operations per second, how many were done and the CPU they took.
 */
async function rawRate(
  token: Pkcs11Token,
  options: { label: string; inFlight: number; seconds: number },
): Promise<{ perSecond: number; cpuUsPerOp: number }> {
  const end = performance.now() + options.seconds * 1000
  let done = 0
  const aad = Buffer.alloc(64, 1)
  const worker = async () => {
    while (performance.now() < end) {
      await token.encryptGcm({ label: options.label, iv: randomBytes(12), aad, data: PLAINTEXT })
      done++
    }
  }
  const start = performance.now()
  const cpuBefore = process.cpuUsage()
  await Promise.all(Array.from({ length: options.inFlight }, worker))
  const cpu = process.cpuUsage(cpuBefore)
  return {
    perSecond: done / ((performance.now() - start) / 1000),
    cpuUsPerOp: (cpu.user + cpu.system) / done,
  }
}

/** Starts Keyward over `dataDir` with one cluster per call mode. */
function startKeyward(
  options: HsmBenchOptions,
  dataDir: string,
  modulePath: string,
): Promise<ServerProcess> {
  const clusters = CALL_MODES.map((mode) => ({
    id: CLUSTER_IDS[mode],
    modulePath,
    tokenLabel: tokenLabel(mode),
    callMode: mode,
  }))
  writeFileSync(
    join(dataDir, 'principals.json'),
    JSON.stringify({ accounts: [], cloudHsmClusters: clusters }),
    { mode: 0o600 },
  )
  const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir]
  return startServer([options.keywardBin, ...args, '--workers', '1'], {
    ready: /listening on (http:\/\/\S+)/,
    env: options.env(),
    ...(options.nodeOptions ? { nodeOptions: options.nodeOptions } : {}),
  })
}

/** Builds signed KMS calls to `keyward`. */
const kmsCaller =
  (keyward: ServerProcess, credentials: BenchCredentials) =>
  (op: string, body: object): KmsCall => ({
    endpoint: keyward.url,
    target: `TrentService.${op}`,
    body: JSON.stringify(body),
    credentials,
  })

/** Creates and connects a store on the mode's cluster and a key in it; returns the key ID. */
async function createHsmKey(
  call: (op: string, body: object) => KmsCall,
  mode: CallMode,
): Promise<string> {
  const { CustomKeyStoreId } = await callKms(
    call('CreateCustomKeyStore', {
      CustomKeyStoreName: `bench-${mode}`,
      CloudHsmClusterId: CLUSTER_IDS[mode],
      TrustAnchorCertificate: 'bench',
      KeyStorePassword: PIN,
    }),
  )
  await callKms(call('ConnectCustomKeyStore', { CustomKeyStoreId }))
  for (let i = 0; ; i++) {
    const out = await callKms(call('DescribeCustomKeyStores', { CustomKeyStoreId }))
    const state = (out.CustomKeyStores as Array<{ ConnectionState: string }>)[0]!.ConnectionState
    if (state === 'CONNECTED') break
    if (state !== 'CONNECTING' || i > 100) throw new Error(`store ${state}, not CONNECTED`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const created = await callKms(call('CreateKey', { Origin: 'AWS_CLOUDHSM', CustomKeyStoreId }))
  return (created.KeyMetadata as { KeyId: string }).KeyId
}

/**
 * Keyward's Encrypt under an HSM key of the mode's cluster, then, once the load is off Keyward
 * (each side has the machine to itself), raw AES-GCM on the same token in the same mode.
 */
async function benchMode(
  options: HsmBenchOptions,
  run: { keyward: ServerProcess; modulePath: string; mode: CallMode },
): Promise<ModeResult> {
  const { keyward, mode } = run
  const call = kmsCaller(keyward, options.credentials)
  const keyId = await createHsmKey(call, mode)
  const encrypt = call('Encrypt', { KeyId: keyId, Plaintext: PLAINTEXT.toString('base64') })
  const sealed = await callKms(encrypt)
  if (typeof sealed.CiphertextBlob !== 'string') throw new Error('HSM Encrypt gave no ciphertext')
  const result = await measureLoad(encrypt, { ...options, keyward })
  const token = await Pkcs11Token.open({
    modulePath: run.modulePath,
    tokenLabel: tokenLabel(mode),
    pin: PIN,
    callMode: mode,
  })
  try {
    await token.generateAesKey({ label: 'bench-raw', id: 'bench-raw' })
    const raw = { label: 'bench-raw', inFlight: options.connections }
    await rawRate(token, { ...raw, seconds: Math.max(options.warmupSeconds, 1) })
    const measured = await rawRate(token, { ...raw, seconds: Math.min(options.seconds, 5) })
    return {
      mode,
      keywardPerSecond: result.requestsPerSecond,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      keywardCpuUs: result.cpuUs,
      rawPerSecond: measured.perSecond,
      rawCpuUs: measured.cpuUsPerOp,
      failed: result.failed,
    }
  } finally {
    await token.close()
  }
}

/**
 * The same Encrypt of 1 KB under a software key of the same Keyward: what a request costs
 * without the HSM. Returns the call, after an unmeasured load that lets a fresh Keyward finish
 * compiling its validators and warming up its JIT, which would otherwise be charged to
 * whichever measurement came first.
 */
async function softwareKeyEncrypt(
  options: HsmBenchOptions,
  keyward: ServerProcess,
): Promise<KmsCall> {
  const call = kmsCaller(keyward, options.credentials)
  const created = await callKms(call('CreateKey', {}))
  const keyId = (created.KeyMetadata as { KeyId: string }).KeyId
  const encrypt = call('Encrypt', { KeyId: keyId, Plaintext: PLAINTEXT.toString('base64') })
  await warmUp(encrypt, { connections: options.connections, seconds: options.warmupSeconds })
  return encrypt
}

/** Warm-up, then the measured load on `call`, with Keyward's CPU per request. */
async function measureLoad(
  call: KmsCall,
  options: HsmBenchOptions & { keyward: ServerProcess },
): Promise<LoadResult & { cpuUs: number }> {
  const load = { connections: options.connections }
  await warmUp(call, { ...load, seconds: options.warmupSeconds })
  const pid = options.keyward.child.pid!
  const cpuBefore = cpuSeconds(pid)
  const result = await runLoad(call, { ...load, seconds: options.seconds })
  const cpuAfter = cpuSeconds(pid)
  const cpuUs =
    cpuBefore === undefined || cpuAfter === undefined
      ? Number.NaN
      : ((cpuAfter - cpuBefore) * 1e6) / (result.ok + result.failed)
  return { ...result, cpuUs }
}

/** (CPU per HSM-backed Encrypt − CPU per software-key Encrypt) ÷ raw CPU per token operation. */
const overheadOf = (r: ModeResult, softwareCpuUs: number) =>
  (r.keywardCpuUs - softwareCpuUs) / r.rawCpuUs

function printResult(r: ModeResult, options: HsmBenchOptions & { softwareCpuUs: number }): void {
  const overhead = overheadOf(r, options.softwareCpuUs)
  console.log(
    `  callMode ${r.mode}: Keyward ${r.keywardPerSecond.toFixed(0)} req/s (p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ` +
      `${r.keywardCpuUs.toFixed(0)} µs CPU/req), raw ${r.rawPerSecond.toFixed(0)} ops/s (${options.connections} in flight, ` +
      `${r.rawCpuUs.toFixed(0)} µs CPU/op): overhead (${r.keywardCpuUs.toFixed(0)} − ${options.softwareCpuUs.toFixed(0)}) / ` +
      `${r.rawCpuUs.toFixed(0)} = ${overhead.toFixed(2)}; target <= ${TARGET_OVERHEAD}: ${overhead <= TARGET_OVERHEAD ? 'MET' : 'MISSED'}`,
  )
  if (r.failed > 0)
    console.log(`  Some ${r.mode} requests failed: this part of the run is not valid.`)
}

/**
 * Runs the HSM comparison in both call modes and prints it. `ok` is false when a request
 * failed; `checks` holds the overhead target of each call mode.
 *
 * @example
 *   await benchHsm({ env: () => keywardEnv(), keywardBin, credentials, seconds: 10, warmupSeconds: 2, connections: 32 })
 */
export async function benchHsm(
  options: HsmBenchOptions,
): Promise<{ ok: boolean; checks: TargetCheck[] }> {
  const hsm = startSoftHsm()
  for (const mode of CALL_MODES) hsm.initToken({ label: tokenLabel(mode), pin: PIN })
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-bench-hsm-'))
  const keyward = await startKeyward(options, dataDir, hsm.modulePath)
  await waitUntilIdle(keyward.child.pid!)
  try {
    console.log(
      `\nHSM-backed Encrypt of 1 KB (SoftHSMv2, CKM_AES_GCM) at ${options.connections} connections, ` +
        `Keyward in one process, raw AES-GCM on the same token through Pkcs11Token (load average ${loadText()}):`,
    )
    const softwareEncrypt = await softwareKeyEncrypt(options, keyward)
    let failed = 0
    const checks: TargetCheck[] = []
    for (const mode of CALL_MODES) {
      // The reference is measured right before each mode, so both see the same machine.
      const reference = await measureLoad(softwareEncrypt, { ...options, keyward })
      console.log(
        `  reference, a software key (no HSM): Keyward ${reference.requestsPerSecond.toFixed(0)} req/s ` +
          `(p50 ${reference.p50Ms.toFixed(2)} ms, p99 ${reference.p99Ms.toFixed(2)} ms, ${reference.cpuUs.toFixed(0)} µs CPU/req)`,
      )
      const result = await benchMode(options, { keyward, modulePath: hsm.modulePath, mode })
      printResult(result, { ...options, softwareCpuUs: reference.cpuUs })
      failed += reference.failed + result.failed
      const overhead = overheadOf(result, reference.cpuUs)
      checks.push({
        target: `HSM Encrypt overhead (${mode}) <= ${TARGET_OVERHEAD}`,
        measured:
          `(${result.keywardCpuUs.toFixed(0)} - ${reference.cpuUs.toFixed(0)}) / ${result.rawCpuUs.toFixed(0)} µs = ${overhead.toFixed(2)}; ` +
          `${result.keywardPerSecond.toFixed(0)} req/s (software key ${reference.requestsPerSecond.toFixed(0)}), raw ${result.rawPerSecond.toFixed(0)} ops/s`,
        met: Number.isFinite(overhead) ? overhead <= TARGET_OVERHEAD : undefined,
      })
    }
    return { ok: failed === 0, checks }
  } catch (error) {
    console.error(`--- keyward (HSM bench) last output:\n${keyward.tail()}`)
    throw error
  } finally {
    await keyward.stop()
    rmSync(dataDir, { recursive: true, force: true })
    hsm.cleanup()
  }
}
