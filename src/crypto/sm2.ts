import { createPublicKey } from 'node:crypto'
import { sm2 } from 'sm-crypto-v2'
import {
  ecPrivateScalar,
  INTEGER,
  isStrictDerSignature,
  OCTET_STRING,
  readTopSequence,
  spkiPublicKeyBits,
} from './der.js'
import type {
  DecryptRequest,
  DeriveRequest,
  KeyFamily,
  SignRequest,
  VerifyRequest,
} from './family.js'
import { generateDerKeyPair } from './key-objects.js'

/**
 * SM2 keys (GB/T 32918). OpenSSL 3.0 knows the curve, so key generation, the PKCS #8 / SPKI
 * encodings and ECDH go through node:crypto; but node:crypto types SM2-curve keys as plain EC
 * keys when it makes them (and would sign ECDSA, cannot set the distinguishing ID, refuses to
 * encrypt) and as keys of no usable type once read back from DER, so SM2DSA, SM2PKE and ECDH
 * go through sm-crypto-v2 (on @noble/curves' curve arithmetic). The test suite checks SM2DSA
 * and SM2PKE against `openssl pkeyutl` (with -pkeyopt distid:1234567812345678); OpenSSL 3.0
 * cannot derive with SM2 keys, so ECDH is checked against the tests' own curve arithmetic.
 */

/** The default distinguishing ID of GB/T 32918.2 that AWS KMS uses for SM2DSA. */
export const SM2_DEFAULT_ID = '1234567812345678'
/** sm-crypto's cipherMode 1: C1 ‖ C3 ‖ C2, the order of GB/T 32918.4-2016 and GM/T 0009. */
const C1C3C2 = 1

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

const scalars = new WeakMap<Buffer, string>()
const scalarHex = (pkcs8: Buffer) => {
  let d = scalars.get(pkcs8)
  if (!d) {
    d = hex(ecPrivateScalar(pkcs8, 32))
    scalars.set(pkcs8, d)
  }
  return d
}

function sm2Sign(req: SignRequest): Buffer {
  const signature = sm2.doSignature(req.message, scalarHex(req.privateKey), {
    der: true,
    // RAW: e = SM3(Z_A ‖ M); DIGEST: the message is e.
    hash: req.messageType === 'RAW',
    publicKey: hex(spkiPublicKeyBits(req.publicKey)),
    userId: SM2_DEFAULT_ID,
  })
  return Buffer.from(signature, 'hex')
}

function sm2Verify(req: VerifyRequest): boolean {
  // sm-crypto's DER reader is lenient (a flipped tag bit still verified): refuse any encoding
  // but strict DER before handing the signature over.
  if (!isStrictDerSignature(req.signature)) return false
  try {
    return sm2.doVerifySignature(
      req.message,
      hex(req.signature),
      hex(spkiPublicKeyBits(req.publicKey)),
      { der: true, hash: req.messageType === 'RAW', userId: SM2_DEFAULT_ID },
    )
  } catch {
    return false
  }
}

/**
 * The SPKI of an SM2 point: a fixed prefix (id-ecPublicKey, curve SM2) and 04‖X‖Y. Used to
 * let OpenSSL check that a ciphertext's C1 is on the curve before our key multiplies it
 * (sm-crypto does not check, and an off-curve C1 would be an invalid-curve oracle).
 */
const SM2_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex')

const int32 = (n: Buffer) => {
  const v = n[0] === 0 && n.length > 1 ? n.subarray(1) : n
  if (v.length > 32) throw new Error('SM2: coordinate too long')
  return Buffer.concat([Buffer.alloc(32 - v.length), v])
}

/** The 04‖X‖Y point of a key on the SM2 curve that OpenSSL accepts, else undefined. */
function sm2Point(spki: Buffer): Buffer | undefined {
  try {
    if (!spki.subarray(0, SM2_SPKI_PREFIX.length).equals(SM2_SPKI_PREFIX)) return undefined
    createPublicKey({ key: spki, format: 'der', type: 'spki' })
    return spkiPublicKeyBits(spki)
  } catch {
    return undefined
  }
}

/** Checks the GM/T 0009 SM2Cipher SEQUENCE {x, y, hash, ciphertext} and that C1 is a point. */
function wellFormedCiphertext(ciphertext: Buffer): boolean {
  try {
    const [x, y, hash, body] = readTopSequence(ciphertext, [
      INTEGER,
      INTEGER,
      OCTET_STRING,
      OCTET_STRING,
    ])
    if (hash!.content.length !== 32 || body!.content.length === 0) return false
    const point = Buffer.concat([Buffer.from([4]), int32(x!.content), int32(y!.content)])
    return sm2Point(Buffer.concat([SM2_SPKI_PREFIX, point])) !== undefined
  } catch {
    return false
  }
}

function sm2Decrypt(req: DecryptRequest): Buffer | undefined {
  if (!wellFormedCiphertext(req.ciphertext)) return undefined
  try {
    const plaintext = sm2.doDecrypt(hex(req.ciphertext), scalarHex(req.privateKey), C1C3C2, {
      output: 'array',
      asn1: true,
    })
    // sm-crypto answers an empty array when C3 does not match.
    return plaintext.length > 0 ? Buffer.from(plaintext) : undefined
  } catch {
    return undefined
  }
}

/** ECDH on the SM2 curve (cofactor 1): the x-coordinate of d·Q, for a peer point on the curve. */
function sm2Derive(req: DeriveRequest): Buffer | undefined {
  const peer = sm2Point(req.peerPublicKey)
  if (!peer) return undefined
  try {
    const shared = sm2.ecdh(scalarHex(req.privateKey), hex(peer), true)
    return Buffer.from(shared.subarray(1))
  } catch {
    return undefined
  }
}

/** The SM2 key spec: SM2DSA, SM2PKE and ECDH. */
export const sm2Family: KeyFamily = {
  generate: () => generateDerKeyPair({ type: 'ec', namedCurve: 'SM2' }),
  sign: sm2Sign,
  verify: sm2Verify,
  encrypt: (req) =>
    Buffer.from(
      sm2.doEncrypt(req.plaintext, hex(spkiPublicKeyBits(req.publicKey)), C1C3C2, { asn1: true }),
      'hex',
    ),
  decrypt: sm2Decrypt,
  deriveSharedSecret: sm2Derive,
}
