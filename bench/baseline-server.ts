import { createCipheriv, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The benchmark's yardstick: the least a KMS Encrypt endpoint on node:http must do. It reads
 * the body, parses the same JSON as Keyward's Encrypt, performs one AES-256-GCM encryption
 * (random 96-bit IV, NIST SP 800-38D) and answers JSON. No authentication, no validation, no
 * key lookup: the ratio Keyward/baseline is what those cost.
 *
 * Run as its own process: `node dist/bench/baseline-server.js [port]`; prints
 * "baseline listening on http://127.0.0.1:<port>" and stops on SIGTERM/SIGINT.
 */

const KEY = randomBytes(32)
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000'

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

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    let status = 200
    let out: string
    try {
      out = encryptOnce(Buffer.concat(chunks))
    } catch {
      status = 400
      out = '{"__type":"SerializationException"}'
    }
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(out),
    })
    res.end(out)
  })
}

const server = createServer({ keepAliveTimeout: 65_000 }, handle)
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  console.log(`baseline listening on http://127.0.0.1:${port}`)
})
const stop = () => {
  server.close()
  server.closeIdleConnections()
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
