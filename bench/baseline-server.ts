import { createCipheriv, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sigV4Verifier } from './baseline-sigv4.js'

/**
 * The benchmark's yardstick: the least a KMS Encrypt endpoint on node:http must do. It reads
 * the body, parses the same JSON as Keyward's Encrypt, performs one AES-256-GCM encryption
 * (random 96-bit IV, NIST SP 800-38D) and answers JSON. No validation, no key lookup.
 *
 * Two modes:
 * - bare (default): no authentication either; Keyward/baseline is what everything else costs.
 * - `--sigv4`: every request's SigV4 signature is verified first, as a careful server does
 *   (bench/baseline-sigv4.ts), against the credential in BASELINE_ACCESS_KEY_ID and
 *   BASELINE_SECRET_ACCESS_KEY; a bad one gets 403. Keyward beyond this baseline is what it
 *   adds to an authenticated Encrypt: validation, the key lookup, the per-message key.
 *
 * Run as its own process: `node dist/bench/baseline-server.js [--sigv4] [port]`; prints
 * "baseline listening on http://127.0.0.1:<port>" and stops on SIGTERM/SIGINT.
 */

const KEY = randomBytes(32)
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000'
const args = process.argv.slice(2)
const verify = args.includes('--sigv4')
  ? sigV4Verifier(
      {
        accessKeyId: process.env.BASELINE_ACCESS_KEY_ID ?? '',
        secretAccessKey: process.env.BASELINE_SECRET_ACCESS_KEY ?? '',
      },
      'kms',
    )
  : undefined
const port = Number(args.find((a) => !a.startsWith('--')) ?? 0)

function encryptOnce(body: Buffer): string {
  const input = JSON.parse(body.toString('utf8')) as { KeyId?: string; Plaintext?: string }
  const plaintext = Buffer.from(input.Plaintext ?? '', 'base64')
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', KEY, iv)
  const sealed = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  return JSON.stringify({
    CiphertextBlob: sealed.toString('base64'),
    KeyId: KEY_ARN,
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  })
}

function answer(req: IncomingMessage, body: Buffer): { status: number; out: string } {
  const signed = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }
  if (verify && !verify(signed, Date.now())) {
    return { status: 403, out: '{"__type":"InvalidSignatureException"}' }
  }
  try {
    return { status: 200, out: encryptOnce(body) }
  } catch {
    return { status: 400, out: '{"__type":"SerializationException"}' }
  }
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const { status, out } = answer(req, Buffer.concat(chunks))
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(out),
    })
    res.end(out)
  })
}

const server = createServer({ keepAliveTimeout: 65_000 }, handle)
server.listen(port, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  console.log(`baseline${verify ? ' (sigv4)' : ''} listening on http://127.0.0.1:${port}`)
})
const stop = () => {
  server.close()
  server.closeIdleConnections()
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
