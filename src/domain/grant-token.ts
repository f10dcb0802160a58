import { createHmac } from 'node:crypto'
import { constantTimeEqual } from './constant-time.js'
import { InvalidGrantTokenException } from './errors/exceptions.js'

/*
 * Grant tokens (Developer Guide, "Grant tokens"; kms-authz.md §6.3). AWS's token is "a unique,
 * non-secret, variable-length, base64-encoded string"; each CreateGrant call returns a new one,
 * even for the same grant, and all of a grant's tokens are interchangeable. Keyward's token is
 * base64url of
 *
 *   version (1 byte, 1) ‖ grant ID (32 bytes) ‖ nonce (16 bytes) ‖ HMAC-SHA256 (32 bytes)
 *
 * the MAC taken over a label, the grant ID and the nonce under a secret kept wrapped by the
 * root key. Nothing about a token is stored: it is checked by recomputing its MAC, so a token
 * cannot be forged or altered, and naming a grant through it costs no lookup.
 */

const VERSION = 1
const GRANT_ID_BYTES = 32
const NONCE_BYTES = 16
const MAC_BYTES = 32
const TOKEN_BYTES = 1 + GRANT_ID_BYTES + NONCE_BYTES + MAC_BYTES
const LABEL = 'keyward grant token v1'
const BASE64URL = /^[A-Za-z0-9_-]+$/

const mac = (secret: Uint8Array, body: Uint8Array) =>
  createHmac('sha256', secret).update(LABEL).update(body).digest()

/** The one answer to a token Keyward did not issue (its text is not recorded from AWS). */
export const invalidGrantToken = (): InvalidGrantTokenException =>
  new InvalidGrantTokenException('The grant token is not valid.')

/**
 * A new token for `grantId` (64 hex characters), made unique by `nonce` (16 random bytes).
 *
 * @example
 *   const token = issueGrantToken({ secret, grantId, nonce: random.bytes(16) })
 */
export function issueGrantToken(req: {
  secret: Uint8Array
  grantId: string
  nonce: Uint8Array
}): string {
  if (req.nonce.length !== NONCE_BYTES) throw new Error('a grant token nonce is 16 bytes')
  const body = Buffer.concat([Buffer.of(VERSION), Buffer.from(req.grantId, 'hex'), req.nonce])
  if (body.length !== 1 + GRANT_ID_BYTES + NONCE_BYTES) throw new Error('bad grant ID')
  return Buffer.concat([body, mac(req.secret, body)]).toString('base64url')
}

/**
 * The grant ID inside a token this Keyward issued; InvalidGrantTokenException for anything
 * else (malformed, altered, or made under another secret). Bounded work: the length is checked
 * before anything is decoded.
 *
 * @example
 *   const grantId = grantIdOfToken(token, secret)
 */
export function grantIdOfToken(token: string, secret: Uint8Array): string {
  // 81 bytes are 108 base64url characters; anything longer or shorter is not a token.
  if (token.length !== Math.ceil((TOKEN_BYTES * 4) / 3) || !BASE64URL.test(token)) {
    throw invalidGrantToken()
  }
  const bytes = Buffer.from(token, 'base64url')
  if (bytes.length !== TOKEN_BYTES || bytes[0] !== VERSION) throw invalidGrantToken()
  const body = bytes.subarray(0, TOKEN_BYTES - MAC_BYTES)
  if (!constantTimeEqual(bytes.subarray(TOKEN_BYTES - MAC_BYTES), mac(secret, body))) {
    throw invalidGrantToken()
  }
  return bytes.subarray(1, 1 + GRANT_ID_BYTES).toString('hex')
}
