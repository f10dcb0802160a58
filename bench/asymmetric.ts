import { createHmac } from 'node:crypto'
import { generateKeyMaterial, KEY_PAIR_OPERATIONS } from '../src/crypto/index.js'
import {
  KEY_SPECS,
  SIGNING_ALGORITHMS,
  type KeySpec,
  type SigningAlgorithm,
} from '../src/domain/key-specs.js'
import { systemRandom } from '../src/ports/random.js'
import { runLoad, type LoadResult } from './load.js'
import { callKms, type BenchCredentials, type KmsCall } from './signing.js'

/**
 * The asymmetric and HMAC part of `npm run bench`: Sign and Verify with ECC_NIST_P256,
 * RSA_2048 and ML_DSA_65 keys, and GenerateMac with an HMAC_256 key, each over HTTP against a
 * running Keyward (real SigV4, autocannon) and beside the same primitive called directly in
 * this process (src/crypto with a key of the same spec, or node's HMAC), with the ratio
 * Keyward req/s ÷ direct ops/s. A ratio near 1 means the primitive dominates and the HTTP,
 * SigV4 and key lookup cost little; a small one means the request path does. The direct loop
 * is single-threaded, as Keyward's event loop is.
 */

const MESSAGE = Buffer.alloc(256, 'keyward-bench-')

interface Case {
  readonly label: string
  readonly call: KmsCall
  readonly check: (answer: Record<string, unknown>) => boolean
  /** One call of the primitive, as Keyward makes it. */
  readonly direct: () => unknown
}

interface Row {
  readonly label: string
  readonly result: LoadResult
  readonly directPerSecond: number
}

const SIGNING: ReadonlyArray<{ spec: KeySpec; algorithm: SigningAlgorithm }> = [
  { spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
  { spec: 'RSA_2048', algorithm: 'RSASSA_PSS_SHA_256' },
  { spec: 'ML_DSA_65', algorithm: 'ML_DSA_SHAKE_256' },
]

async function buildCases(keyward: string, credentials: BenchCredentials): Promise<Case[]> {
  const call = (op: string, body: object): KmsCall => ({
    endpoint: keyward,
    target: `TrentService.${op}`,
    body: JSON.stringify(body),
    credentials,
  })
  const message = MESSAGE.toString('base64')
  const cases: Case[] = []
  for (const { spec, algorithm } of SIGNING) {
    const created = await callKms(call('CreateKey', { KeySpec: spec, KeyUsage: 'SIGN_VERIFY' }))
    const keyId = (created.KeyMetadata as { KeyId: string }).KeyId
    const signBody = { KeyId: keyId, Message: message, SigningAlgorithm: algorithm }
    const signed = await callKms(call('Sign', signBody))
    // The direct side: a key of the same spec made here, through the same src/crypto code.
    const material = KEY_SPECS[spec].material
    const local = await generateKeyMaterial(material, systemRandom)
    const request = {
      material,
      publicKey: local.publicKey!,
      algorithm: SIGNING_ALGORITHMS[algorithm],
      messageType: 'RAW' as const,
      message: MESSAGE,
    }
    const localSignature = KEY_PAIR_OPERATIONS.sign({ ...request, privateKey: local.privateKey })
    cases.push(
      {
        label: `Sign ${spec}`,
        call: call('Sign', signBody),
        check: (a) => typeof a.Signature === 'string',
        direct: () => KEY_PAIR_OPERATIONS.sign({ ...request, privateKey: local.privateKey }),
      },
      {
        label: `Verify ${spec}`,
        call: call('Verify', { ...signBody, Signature: signed.Signature }),
        check: (a) => a.SignatureValid === true,
        direct: () => KEY_PAIR_OPERATIONS.verify({ ...request, signature: localSignature }),
      },
    )
  }
  const hmacKey = await callKms(
    call('CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }),
  )
  const secret = systemRandom.bytes(32)
  cases.push({
    label: 'GenerateMac HMAC_256',
    call: call('GenerateMac', {
      KeyId: (hmacKey.KeyMetadata as { KeyId: string }).KeyId,
      Message: message,
      MacAlgorithm: 'HMAC_SHA_256',
    }),
    check: (a) => typeof a.Mac === 'string',
    direct: () => createHmac('sha256', secret).update(MESSAGE).digest(),
  })
  return cases
}

/**
 * Calls `fn` back to back for `seconds` after `warmupSeconds` of the same (the JIT needs it:
 * noble's ML-DSA doubles its speed over the first seconds); returns calls per second.
 */
function directRate(fn: () => unknown, seconds: number, warmupSeconds: number): number {
  const warmUntil = performance.now() + warmupSeconds * 1000
  while (performance.now() < warmUntil) fn()
  const start = performance.now()
  const end = start + seconds * 1000
  let n = 0
  while (performance.now() < end) {
    fn()
    n++
  }
  return n / ((performance.now() - start) / 1000)
}

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-')

function printRows(rows: readonly Row[], connections: number): void {
  const header = ['operation', 'keyward req/s', 'p50 ms', 'p99 ms', 'direct ops/s', 'ratio']
  const body = rows.map((r) => [
    r.label,
    fmt(r.result.requestsPerSecond, 0),
    fmt(r.result.p50Ms, 2),
    fmt(r.result.p99Ms, 2),
    fmt(r.directPerSecond, 0),
    fmt(r.result.requestsPerSecond / r.directPerSecond, 2),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  console.log(
    `\nAsymmetric and HMAC keys at ${connections} connections (ratio = Keyward req/s ÷ the same primitive called directly in node, one thread)`,
  )
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of body) console.log(line(row))
}

/**
 * Runs the asymmetric and HMAC scenarios against the Keyward at `keyward` and prints their
 * table. Returns false when a request failed (the run is then not valid).
 *
 * @example
 *   const ok = await benchAsymmetric({ keyward: url, credentials, seconds: 10, warmupSeconds: 2, connections: 32 })
 */
export async function benchAsymmetric(options: {
  keyward: string
  credentials: BenchCredentials
  seconds: number
  warmupSeconds: number
  connections: number
}): Promise<boolean> {
  const rows: Row[] = []
  let ok = true
  for (const c of await buildCases(options.keyward, options.credentials)) {
    if (!c.check(await callKms(c.call))) {
      throw new Error(`keyward ${c.label} gave an unexpected answer before the run`)
    }
    const load = { connections: options.connections }
    if (options.warmupSeconds > 0)
      await runLoad(c.call, { ...load, seconds: options.warmupSeconds })
    const result = await runLoad(c.call, { ...load, seconds: options.seconds })
    if (result.failed > 0) ok = false
    // The direct loop runs while no load is on the server: each side has the machine to itself.
    const directPerSecond = directRate(
      c.direct,
      Math.min(options.seconds, 5),
      Math.max(options.warmupSeconds, 1),
    )
    rows.push({ label: c.label, result, directPerSecond })
    process.stderr.write(`  done: keyward ${c.label} x${options.connections}\n`)
  }
  printRows(rows, options.connections)
  if (!ok) console.log('\nSome asymmetric requests failed: that part of the run is not valid.')
  return ok
}
