import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js'
import { spkiPublicKeyBits, spkiWithOid } from './der.js'
import type { KeyFamily, SignRequest, VerifyRequest } from './family.js'

/**
 * ML-DSA keys (FIPS 204), which OpenSSL 3.0 does not have, through @noble/post-quantum
 * (audited). The stored material is the 32-byte seed ξ of ML-DSA.KeyGen (FIPS 204 §6.1), the
 * compact form RFC 9881 also allows; the expanded key is derived once per process. A RAW
 * message is signed with ML-DSA.Sign and an empty context (hedged, the FIPS 204 default); an
 * EXTERNAL_MU message is the 64-byte μ of FIPS 204 Algorithm 7 line 6, signed as is. The test
 * suite checks signatures with liboqs.
 */
const SETS = {
  'ML-DSA-44': { dsa: ml_dsa44, oid: '608648016503040311' },
  'ML-DSA-65': { dsa: ml_dsa65, oid: '608648016503040312' },
  'ML-DSA-87': { dsa: ml_dsa87, oid: '608648016503040313' },
} as const
type ParameterSet = keyof typeof SETS

const setOf = (req: { material: { kind: string; parameterSet?: string } }) => {
  if (req.material.kind !== 'ml-dsa') throw new Error('not an ML-DSA key')
  return SETS[req.material.parameterSet as ParameterSet]
}

const secretKeys = new WeakMap<Buffer, Uint8Array>()
function secretKeyOf(seed: Buffer, set: (typeof SETS)[ParameterSet]): Uint8Array {
  let secretKey = secretKeys.get(seed)
  if (!secretKey) {
    secretKey = set.dsa.keygen(seed).secretKey
    secretKeys.set(seed, secretKey)
  }
  return secretKey
}

function mlDsaSign(req: SignRequest): Buffer {
  const set = setOf(req)
  const secretKey = secretKeyOf(req.privateKey, set)
  const signature =
    req.messageType === 'EXTERNAL_MU'
      ? set.dsa.internal.sign(req.message, secretKey, { externalMu: true })
      : set.dsa.sign(req.message, secretKey)
  return Buffer.from(signature)
}

function mlDsaVerify(req: VerifyRequest): boolean {
  const set = setOf(req)
  const publicKey = spkiPublicKeyBits(req.publicKey)
  try {
    return req.messageType === 'EXTERNAL_MU'
      ? set.dsa.internal.verify(req.signature, req.message, publicKey, { externalMu: true })
      : set.dsa.verify(req.signature, req.message, publicKey)
  } catch {
    return false
  }
}

/** ML_DSA_44, ML_DSA_65 and ML_DSA_87. */
export const mlDsaFamily: KeyFamily = {
  generate: async (material, random) => {
    const set = setOf({ material })
    const seed = random.bytes(32)
    const { publicKey } = set.dsa.keygen(seed)
    return { privateKey: seed, publicKey: spkiWithOid(set.oid, publicKey) }
  },
  sign: mlDsaSign,
  verify: mlDsaVerify,
}
