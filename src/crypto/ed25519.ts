import { sign, verify } from 'node:crypto'
import { ed25519ph } from '@noble/curves/ed25519.js'
import { ed25519Seed, spkiPublicKeyBits } from './der.js'
import type { KeyFamily, SignRequest, VerifyRequest } from './family.js'
import { generateDerKeyPair, privateKeyObject, publicKeyObject } from './key-objects.js'

/**
 * Ed25519 keys (RFC 8032). ED25519_SHA_512 is PureEdDSA over a RAW message, through
 * node:crypto. ED25519_PH_SHA_512 is Ed25519ph over a DIGEST message, which OpenSSL 3.0 does
 * not offer, through @noble/curves (audited). Like AWS KMS, the DIGEST the caller sends is the
 * input of Ed25519ph, whose PH (SHA-512) hashes it once more: measured against real KMS by
 * floci-io/floci#2930 and Infisical/infisical#7918 ("AWS does dual hash Ed25519ph").
 */

function edSign(req: SignRequest): Buffer {
  if (req.algorithm.scheme === 'ed25519') {
    return sign(null, req.message, privateKeyObject(req.privateKey))
  }
  return Buffer.from(ed25519ph.sign(req.message, ed25519Seed(req.privateKey)))
}

function edVerify(req: VerifyRequest): boolean {
  try {
    if (req.algorithm.scheme === 'ed25519') {
      return verify(null, req.message, publicKeyObject(req.publicKey), req.signature)
    }
    // Strict RFC 8032 decoding (as OpenSSL), not ZIP-215's more lenient one.
    return ed25519ph.verify(req.signature, req.message, spkiPublicKeyBits(req.publicKey), {
      zip215: false,
    })
  } catch {
    return false
  }
}

/** The ECC_NIST_EDWARDS25519 key spec. */
export const ed25519Family: KeyFamily = {
  generate: () => generateDerKeyPair({ type: 'ed25519' }),
  sign: edSign,
  verify: edVerify,
}
