import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pkcs11Token } from '../src/adapters/pkcs11/pkcs11-token.js'
import { SOFTHSM_MODULE, startSoftHsm } from '../test/support/softhsm.js'
import { runLoad } from './load.js'
import { startServer } from './processes.js'
import { callKms, type BenchCredentials, type KmsCall } from './signing.js'

/**
 * The HSM part of `npm run bench` (BENCH_HSM=1, when SoftHSMv2 is installed): Encrypt of 1 KB
 * under a key of a CloudHSM-type custom key store, over HTTP against a Keyward child process,
 * beside raw AES-GCM on the same SoftHSM token through the same binding (Pkcs11Token, the
 * same session pool and async calls) in this process, with the same number of operations in
 * flight. Target (issue 5): Keyward ≥ 70 % of the raw rate.
 */

const PLAINTEXT = Buffer.alloc(1024, 'keyward-hsm-bench-')
const CLUSTER_ID = 'cluster-benchhsmaaaa'
const PIN = 'bench-pin-1234'
const TARGET_RATIO = 0.7

/** Whether the HSM part can run here. */
export const softHsmAvailable = () => existsSync(SOFTHSM_MODULE)

/**
 * Raw AES-GCM encryptions of PLAINTEXT on `token`, `inFlight` at a time, for `seconds`;
 * returns operations per second.
 */
async function rawRate(
  token: Pkcs11Token,
  options: { label: string; inFlight: number; seconds: number },
): Promise<number> {
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
  await Promise.all(Array.from({ length: options.inFlight }, worker))
  return done / ((performance.now() - start) / 1000)
}

/**
 * Runs the HSM comparison and prints it. Returns false when a request failed.
 *
 * @example
 *   await benchHsm({ env: () => keywardEnv(), root, credentials, seconds: 10, warmupSeconds: 2, connections: 32 })
 */
export async function benchHsm(options: {
  /** The Keyward child's environment, read after SOFTHSM2_CONF is set. */
  env: () => NodeJS.ProcessEnv
  /** Path of bin/keyward.js. */
  keywardBin: string
  credentials: BenchCredentials
  seconds: number
  warmupSeconds: number
  connections: number
}): Promise<boolean> {
  const hsm = startSoftHsm()
  hsm.initToken({ label: 'bench', pin: PIN })
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-bench-hsm-'))
  writeFileSync(
    join(dataDir, 'principals.json'),
    JSON.stringify({
      accounts: [],
      cloudHsmClusters: [{ id: CLUSTER_ID, modulePath: hsm.modulePath, tokenLabel: 'bench' }],
    }),
    { mode: 0o600 },
  )
  const keyward = await startServer(
    [options.keywardBin, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir],
    { ready: /listening on (http:\/\/\S+)/, env: options.env() },
  )
  let token: Pkcs11Token | undefined
  try {
    const call = (op: string, body: object): KmsCall => ({
      endpoint: keyward.url,
      target: `TrentService.${op}`,
      body: JSON.stringify(body),
      credentials: options.credentials,
    })
    const { CustomKeyStoreId } = await callKms(
      call('CreateCustomKeyStore', {
        CustomKeyStoreName: 'bench',
        CloudHsmClusterId: CLUSTER_ID,
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
    const keyId = (created.KeyMetadata as { KeyId: string }).KeyId
    const encrypt = call('Encrypt', { KeyId: keyId, Plaintext: PLAINTEXT.toString('base64') })
    const sealed = await callKms(encrypt)
    if (typeof sealed.CiphertextBlob !== 'string') throw new Error('HSM Encrypt gave no ciphertext')
    const load = { connections: options.connections }
    if (options.warmupSeconds > 0)
      await runLoad(encrypt, { ...load, seconds: options.warmupSeconds })
    const result = await runLoad(encrypt, { ...load, seconds: options.seconds })
    // The raw side runs once the load is off Keyward: each has the machine to itself.
    token = await Pkcs11Token.open({ modulePath: hsm.modulePath, tokenLabel: 'bench', pin: PIN })
    await token.generateAesKey({ label: 'bench-raw', id: 'bench-raw' })
    const raw = { label: 'bench-raw', inFlight: options.connections }
    await rawRate(token, { ...raw, seconds: Math.max(options.warmupSeconds, 1) })
    const rawPerSecond = await rawRate(token, { ...raw, seconds: Math.min(options.seconds, 5) })
    const ratio = result.requestsPerSecond / rawPerSecond
    console.log(
      `\nHSM-backed Encrypt of 1 KB (SoftHSMv2, CKM_AES_GCM) at ${options.connections} connections:`,
    )
    console.log(
      `  Keyward ${result.requestsPerSecond.toFixed(0)} req/s (p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms), ` +
        `raw AES-GCM on the token through pkcs11js ${rawPerSecond.toFixed(0)} ops/s (${options.connections} in flight)`,
    )
    console.log(
      `  ratio ${(100 * ratio).toFixed(1)} %; target >= ${100 * TARGET_RATIO} %: ${ratio >= TARGET_RATIO ? 'MET' : 'MISSED'}`,
    )
    if (result.failed > 0)
      console.log('  Some HSM requests failed: this part of the run is not valid.')
    return result.failed === 0
  } catch (error) {
    console.error(`--- keyward (HSM bench) last output:\n${keyward.tail()}`)
    throw error
  } finally {
    await token?.close()
    await keyward.stop()
    rmSync(dataDir, { recursive: true, force: true })
    hsm.cleanup()
  }
}
