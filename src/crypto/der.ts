/**
 * The little DER (ITU-T X.690) that src/crypto/ needs and node:crypto does not expose: reading
 * a private scalar or a public point out of PKCS #8 / SubjectPublicKeyInfo, and writing the
 * SubjectPublicKeyInfo of an ML-DSA key. Definite lengths only; anything else is malformed.
 */

/** One TLV: its tag byte, its contents, and where the next TLV starts. */
export interface Tlv {
  readonly tag: number
  readonly content: Buffer
  readonly end: number
}

export const SEQUENCE = 0x30
export const INTEGER = 0x02
export const BIT_STRING = 0x03
export const OCTET_STRING = 0x04
export const OBJECT_IDENTIFIER = 0x06

/**
 * Reads the TLV at `offset`.
 *
 * @throws Error on truncation or a length form DER does not allow
 * @example
 *   readTlv(Buffer.from('020101', 'hex')).content // <01>
 */
export function readTlv(buf: Buffer, offset = 0): Tlv {
  if (offset + 2 > buf.length) throw new Error('DER: truncated')
  const tag = buf[offset]!
  let length = buf[offset + 1]!
  let at = offset + 2
  if (length & 0x80) {
    const octets = length & 0x7f
    if (octets === 0 || octets > 4 || at + octets > buf.length) throw new Error('DER: bad length')
    length = 0
    for (let i = 0; i < octets; i++) length = length * 256 + buf[at + i]!
    at += octets
  }
  if (at + length > buf.length) throw new Error('DER: truncated')
  return { tag, content: buf.subarray(at, at + length), end: at + length }
}

/**
 * The TLVs inside a constructed value (a SEQUENCE's contents), each checked against `tags`
 * when given.
 *
 * @throws Error when the contents are not exactly a run of TLVs, or a tag differs
 */
export function readSequence(content: Buffer, tags?: readonly number[]): Tlv[] {
  const items: Tlv[] = []
  for (let at = 0; at < content.length;) {
    const tlv = readTlv(content, at)
    items.push(tlv)
    at = tlv.end
  }
  tags?.forEach((tag, i) => {
    if (items[i]?.tag !== tag) throw new Error('DER: unexpected element')
  })
  return items
}

/** Reads a whole buffer that must be exactly one SEQUENCE; returns its elements. */
export function readTopSequence(der: Buffer, tags?: readonly number[]): Tlv[] {
  const top = readTlv(der)
  if (top.tag !== SEQUENCE || top.end !== der.length) throw new Error('DER: not one SEQUENCE')
  return readSequence(top.content, tags)
}

/**
 * Encodes one TLV.
 *
 * @example
 *   encodeTlv(OCTET_STRING, Buffer.from([1])).toString('hex') // '040101'
 */
export function encodeTlv(tag: number, content: Buffer): Buffer {
  const n = content.length
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff])
  return Buffer.concat([Buffer.from([tag]), length, content])
}

/**
 * The subjectPublicKey bits of a SubjectPublicKeyInfo (RFC 5280 §4.1): the uncompressed
 * point 04‖X‖Y for EC keys, the raw key for Ed25519 and ML-DSA.
 *
 * @throws Error when `spki` is not a SubjectPublicKeyInfo
 */
export function spkiPublicKeyBits(spki: Buffer): Buffer {
  const [, bits] = readTopSequence(spki, [SEQUENCE, BIT_STRING])
  if (bits!.content[0] !== 0) throw new Error('DER: BIT STRING with unused bits')
  return bits!.content.subarray(1)
}

/**
 * The privateKey OCTET STRING of a PKCS #8 PrivateKeyInfo (RFC 5208): for EC keys a DER
 * ECPrivateKey (RFC 5915), for Ed25519 a DER OCTET STRING holding the 32-byte seed (RFC 8410).
 */
function pkcs8PrivateKey(pkcs8: Buffer): Buffer {
  const [, , privateKey] = readTopSequence(pkcs8, [INTEGER, SEQUENCE, OCTET_STRING])
  return privateKey!.content
}

/**
 * The private scalar d of an EC (or SM2) key in PKCS #8, left-padded to `bytes`.
 *
 * @example
 *   ecPrivateScalar(pkcs8, 32) // 32 bytes for P-256
 */
export function ecPrivateScalar(pkcs8: Buffer, bytes: number): Buffer {
  const [, d] = readTopSequence(pkcs8PrivateKey(pkcs8), [INTEGER, OCTET_STRING])
  const scalar = d!.content
  if (scalar.length > bytes) throw new Error('DER: EC private key too long')
  return Buffer.concat([Buffer.alloc(bytes - scalar.length), scalar])
}

/** The 32-byte seed of an Ed25519 private key in PKCS #8 (RFC 8410 §7). */
export function ed25519Seed(pkcs8: Buffer): Buffer {
  const seed = readTlv(pkcs8PrivateKey(pkcs8))
  if (seed.tag !== OCTET_STRING || seed.content.length !== 32) throw new Error('DER: bad seed')
  return seed.content
}

/**
 * A SubjectPublicKeyInfo whose AlgorithmIdentifier is `oid` with absent parameters, as the
 * ML-DSA keys of RFC 9881 (ML-DSA-44: 1334 bytes, as AWS's GetPublicKey returns).
 *
 * @example
 *   spkiWithOid('608648016503040311', publicKey) // id-ml-dsa-44
 */
export function spkiWithOid(oidHex: string, publicKey: Uint8Array): Buffer {
  const algorithm = encodeTlv(SEQUENCE, encodeTlv(OBJECT_IDENTIFIER, Buffer.from(oidHex, 'hex')))
  const bits = encodeTlv(BIT_STRING, Buffer.concat([Buffer.from([0]), publicKey]))
  return encodeTlv(SEQUENCE, Buffer.concat([algorithm, bits]))
}

/**
 * Whether `signature` is an Ecdsa-Sig-Value (RFC 3279 §2.2.3: SEQUENCE { r INTEGER, s INTEGER })
 * in strict DER: minimal lengths, positive minimally encoded integers, nothing after. A lenient
 * reader would accept other encodings of the same (r, s), so a changed signature would still
 * verify (signature malleability); OpenSSL and AWS accept only this form.
 *
 * @example
 *   isStrictDerSignature(Buffer.from('3006020101020102', 'hex')) // true
 */
export function isStrictDerSignature(signature: Buffer): boolean {
  try {
    const items = readTopSequence(signature, [INTEGER, INTEGER])
    if (items.length !== 2) return false
    const minimalPositive = ({ content: c }: Tlv) =>
      c.length > 0 && (c[0]! & 0x80) === 0 && !(c.length > 1 && c[0] === 0 && (c[1]! & 0x80) === 0)
    if (!items.every(minimalPositive)) return false
    const canonical = encodeTlv(
      SEQUENCE,
      Buffer.concat(items.map((i) => encodeTlv(INTEGER, i.content))),
    )
    return canonical.equals(signature)
  } catch {
    return false
  }
}
