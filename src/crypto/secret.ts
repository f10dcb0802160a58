import { createHmac } from 'node:crypto'
import type { HashName } from '../domain/key-specs.js'
import type { KeyFamily } from './family.js'

/**
 * Secret keys: AES-256 keys for symmetric encryption (sealed by src/domain/ciphertext.ts) and
 * HMAC keys, both random bytes of the length the key spec names.
 */
const randomSecret: KeyFamily['generate'] = async (material, random) => ({
  privateKey: random.bytes('bytes' in material ? material.bytes : 0),
})

/** SYMMETRIC_DEFAULT. */
export const aesFamily: KeyFamily = { generate: randomSecret }

/** HMAC_224/256/384/512; {@link hmac} computes the MACs. */
export const hmacFamily: KeyFamily = { generate: randomSecret }

/**
 * HMAC (RFC 2104) with the given SHA-2 hash.
 *
 * @example
 *   hmac({ hash: 'sha256', key, message }).length // 32
 */
export function hmac(req: { hash: HashName; key: Buffer; message: Buffer }): Buffer {
  return createHmac(req.hash, req.key).update(req.message).digest()
}
