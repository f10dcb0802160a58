import { createHash } from 'node:crypto'
import { XksError } from './errors.js'

/**
 * How this proxy lays out what AES-GCM authenticates, and the ciphertext data integrity value
 * (CDIV), per the XKS Proxy API spec v1.0.3 (Encrypt, "ciphertextMetadata"; Appendix C).
 *
 * Every Encrypt answers a one-byte `ciphertextMetadata`, the format version. Version 1 is the
 * spec's AAD layout as given:
 *
 *   2-byte big-endian len(AAD) ‖ AAD ‖ 1-byte len(CM) ‖ CM
 *
 * (the reference proxy hashes the AAD first; ciphertexts are not portable between proxies
 * anyway). The version byte is what lets a later format coexist with old ciphertexts, as the
 * spec advises; Decrypt refuses metadata it does not know.
 */

/** The ciphertextMetadata of format version 1. */
export const CIPHERTEXT_METADATA_V1: Buffer = Buffer.from([0x01])

/**
 * The AAD handed to the key manager: the request's AAD and the ciphertextMetadata, each after
 * its length, so that neither can be moved into the other (the spec's note on lengths).
 *
 * @example
 *   gcmAad(Buffer.from('ctx'), CIPHERTEXT_METADATA_V1) // 00 03 63 74 78 01 01
 */
export function gcmAad(aad: Buffer, ciphertextMetadata: Buffer): Buffer {
  if (aad.length > 0xffff || ciphertextMetadata.length > 0xff) {
    throw new RangeError('AAD or ciphertextMetadata too long for its length field')
  }
  const out = Buffer.allocUnsafe(3 + aad.length + ciphertextMetadata.length)
  out.writeUInt16BE(aad.length, 0)
  aad.copy(out, 2)
  out[2 + aad.length] = ciphertextMetadata.length
  ciphertextMetadata.copy(out, 3 + aad.length)
  return out
}

/**
 * Checks that a Decrypt's ciphertextMetadata is one this proxy wrote. Anything else (absent,
 * another version, changed) cannot have come from our Encrypt: InvalidCiphertextException,
 * the same answer as a failed tag, so no error tells which part was wrong.
 *
 * @example
 *   checkCiphertextMetadata(input.ciphertextMetadata)
 */
export function checkCiphertextMetadata(ciphertextMetadata: Buffer | undefined): Buffer {
  if (!ciphertextMetadata || !ciphertextMetadata.equals(CIPHERTEXT_METADATA_V1)) {
    throw invalidCiphertext()
  }
  return ciphertextMetadata
}

/**
 * The one answer to a ciphertext that does not open, whatever the reason.
 *
 * @example
 *   throw invalidCiphertext()
 */
export function invalidCiphertext(): XksError {
  return new XksError(
    'InvalidCiphertextException',
    'The ciphertext, initialization vector, additional authenticated data, ciphertext metadata or authentication tag is not valid.',
  )
}

/**
 * The CDIV: SHA-256 over AAD ‖ ciphertextMetadata ‖ IV ‖ ciphertext ‖ tag, decoded bytes,
 * absent fields empty, no lengths (spec Appendix C).
 *
 * @example
 *   ciphertextDataIntegrityValue({ aad, ciphertextMetadata, iv, ciphertext, tag }).toString('base64')
 */
export function ciphertextDataIntegrityValue(parts: {
  readonly aad: Buffer
  readonly ciphertextMetadata: Buffer
  readonly iv: Buffer
  readonly ciphertext: Buffer
  readonly tag: Buffer
}): Buffer {
  return createHash('sha256')
    .update(parts.aad)
    .update(parts.ciphertextMetadata)
    .update(parts.iv)
    .update(parts.ciphertext)
    .update(parts.tag)
    .digest()
}
