import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { XksLogger } from '../../src/xks-proxy/request-log.js'
import {
  KMS_METADATA,
  xksRequest,
  type XksResponse,
  type XksTarget,
} from '../support/xks-client.js'

/** Asserts the spec's error answer: the status and `errorName`, and the message when given. */
export function expectXksError(
  response: XksResponse,
  status: number,
  errorName: string,
  message?: string | RegExp,
): void {
  assert.equal(response.status, status, `status of ${response.text}`)
  assert.equal(response.headers['content-type'], 'application/json')
  assert.equal(response.json?.errorName, errorName, response.text)
  if (message instanceof RegExp) assert.match(String(response.json?.errorMessage), message)
  else if (message !== undefined) assert.equal(response.json?.errorMessage, message)
}

/** A logger that keeps every line, as the JSON the real one would print. */
export function capturingLogger(): XksLogger & { lines: string[] } {
  const lines: string[] = []
  const keep = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push(JSON.stringify({ level, message, ...fields }))
  return { lines, info: keep('info'), warn: keep('warn'), error: keep('error') }
}

/** requestMetadata for `kmsOperation`, with a fresh kmsRequestId. */
export const metadata = (kmsOperation = 'Encrypt', extra: Record<string, unknown> = {}) => ({
  ...KMS_METADATA,
  kmsOperation,
  kmsRequestId: randomUUID(),
  ...extra,
})

/** Encrypts `plaintext` under `keyId`; returns the parsed answer. */
export async function encryptWith(
  target: XksTarget,
  keyId: string,
  fields: { plaintext: Buffer; aad?: Buffer; cdiv?: boolean },
): Promise<XksResponse> {
  return xksRequest(target, {
    path: `keys/${keyId}/encrypt`,
    body: {
      requestMetadata: metadata('Encrypt'),
      plaintext: fields.plaintext.toString('base64'),
      encryptionAlgorithm: 'AES_GCM',
      ...(fields.aad ? { additionalAuthenticatedData: fields.aad.toString('base64') } : {}),
      ...(fields.cdiv ? { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' } : {}),
    },
  })
}

/** A Decrypt body from an Encrypt answer, with `changes` applied (undefined drops a member). */
export function decryptBody(
  sealed: Record<string, unknown>,
  options: { aad?: Buffer; changes?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    requestMetadata: metadata('Decrypt'),
    ciphertext: sealed.ciphertext,
    initializationVector: sealed.initializationVector,
    authenticationTag: sealed.authenticationTag,
    encryptionAlgorithm: 'AES_GCM',
    ...(sealed.ciphertextMetadata !== undefined
      ? { ciphertextMetadata: sealed.ciphertextMetadata }
      : {}),
    ...(options.aad ? { additionalAuthenticatedData: options.aad.toString('base64') } : {}),
  }
  for (const [k, v] of Object.entries(options.changes ?? {})) {
    if (v === undefined) delete body[k]
    else body[k] = v
  }
  return body
}

/** `b64` with the first bit of its decoded bytes flipped. */
export function flipFirstBit(b64: unknown): string {
  const bytes = Buffer.from(String(b64), 'base64')
  bytes[0]! ^= 0x01
  return bytes.toString('base64')
}
