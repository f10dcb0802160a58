import { sign, verify } from 'node:crypto'
import { p256, p384, p521 } from '@noble/curves/nist.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { ecPrivateScalar, spkiPublicKeyBits } from './der.js'
import type { KeyFamily, SignRequest, VerifyRequest } from './family.js'
import { ecdh, generateDerKeyPair, privateKeyObject, publicKeyObject } from './key-objects.js'

/**
 * ECDSA and ECDH keys on the NIST curves and secp256k1. A RAW message goes through
 * node:crypto (OpenSSL), which hashes it; node:crypto cannot sign a caller's digest, so DIGEST
 * goes through @noble/curves (audited) with prehash off. Signatures are DER (RFC 3279
 * Ecdsa-Sig-Value), as AWS's; verification accepts high-S signatures, as OpenSSL does.
 */
const NOBLE = { prime256v1: p256, secp384r1: p384, secp521r1: p521, secp256k1 } as const
type Curve = keyof typeof NOBLE

const curveOf = (req: { material: { kind: string; curve?: string } }) => {
  const curve = req.material.kind === 'ec' ? (req.material.curve as Curve) : undefined
  if (!curve) throw new Error('not an EC key')
  return curve
}

/** The scalar of each private key, parsed once per stored Buffer. */
const scalars = new WeakMap<Buffer, Uint8Array>()
function scalarOf(pkcs8: Buffer, curve: Curve): Uint8Array {
  let d = scalars.get(pkcs8)
  if (!d) {
    d = ecPrivateScalar(pkcs8, NOBLE[curve].lengths.secretKey!)
    scalars.set(pkcs8, d)
  }
  return d
}

function ecSign(req: SignRequest): Buffer {
  if (req.messageType === 'RAW') {
    const key = privateKeyObject(req.privateKey)
    return sign(req.algorithm.hash, req.message, { key, dsaEncoding: 'der' })
  }
  const curve = curveOf(req)
  const signature = NOBLE[curve].sign(req.message, scalarOf(req.privateKey, curve), {
    prehash: false,
    format: 'der',
    lowS: false,
  })
  return Buffer.from(signature)
}

function ecVerify(req: VerifyRequest): boolean {
  try {
    if (req.messageType === 'RAW') {
      const key = publicKeyObject(req.publicKey)
      return verify(req.algorithm.hash, req.message, { key, dsaEncoding: 'der' }, req.signature)
    }
    return NOBLE[curveOf(req)].verify(
      req.signature,
      req.message,
      spkiPublicKeyBits(req.publicKey),
      { prehash: false, format: 'der', lowS: false },
    )
  } catch {
    // Not a DER Ecdsa-Sig-Value: not a signature.
    return false
  }
}

/** ECC_NIST_P256/P384/P521 and ECC_SECG_P256K1. */
export const ecFamily: KeyFamily = {
  generate: (material) => generateDerKeyPair({ type: 'ec', namedCurve: curveOf({ material }) }),
  sign: ecSign,
  verify: ecVerify,
  deriveSharedSecret: (req) => ecdh(privateKeyObject(req.privateKey), req.peerPublicKey),
}
