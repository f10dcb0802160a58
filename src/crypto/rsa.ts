import {
  constants,
  createHash,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto'
import { constantTimeEqual } from '../domain/constant-time.js'
import type { HashName, SigningAlgorithmFacts } from '../domain/key-specs.js'
import type { KeyFamily, SignRequest, VerifyRequest } from './family.js'
import { generateDerKeyPair, privateKeyObject, publicKeyObject } from './key-objects.js'

/**
 * RSA keys (RFC 8017) through node:crypto (OpenSSL): RSASSA-PSS and RSASSA-PKCS1-v1_5
 * signatures, RSAES-OAEP encryption. node:crypto always hashes what it signs, so a DIGEST
 * message is signed through the raw RSA primitive with the encoding done here: EMSA-PKCS1-v1_5
 * (§9.2) and EMSA-PSS (§9.1) over the caller's hash. The test suite checks both against
 * `openssl pkeyutl`.
 */

/** DigestInfo prefixes of EMSA-PKCS1-v1_5 (RFC 8017 §9.2, note 1). */
const DIGEST_INFO: Partial<Record<HashName, string>> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
}

const hashLength = (hash: HashName) => createHash(hash).digest().length
const NO_PADDING = constants.RSA_NO_PADDING

/** Bytes of the modulus of an RSA KeyObject. */
function modulusBytes(key: KeyObject): number {
  return Math.ceil(key.asymmetricKeyDetails!.modulusLength! / 8)
}

/** EMSA-PKCS1-v1_5 encoding of a digest (RFC 8017 §9.2 steps 2–5), k bytes long. */
function pkcs1Encoding(hash: HashName, digest: Buffer, k: number): Buffer {
  const t = Buffer.concat([Buffer.from(DIGEST_INFO[hash]!, 'hex'), digest])
  const ps = Buffer.alloc(k - t.length - 3, 0xff)
  return Buffer.concat([Buffer.from([0x00, 0x01]), ps, Buffer.from([0x00]), t])
}

/** MGF1 (RFC 8017 §B.2.1). */
function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = []
  for (let counter = 0; blocks.length * hashLength(hash) < length; counter++) {
    const c = Buffer.alloc(4)
    c.writeUInt32BE(counter)
    blocks.push(createHash(hash).update(seed).update(c).digest())
  }
  return Buffer.concat(blocks).subarray(0, length)
}

/** H = Hash(0x00·8 ‖ mHash ‖ salt) of EMSA-PSS. */
const pssHash = (hash: HashName, mHash: Buffer, salt: Buffer) =>
  createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest()

/**
 * EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with a salt as long as the hash, as KMS uses, left-padded
 * to the k bytes the raw RSA primitive takes.
 */
function pssEncode(hash: HashName, mHash: Buffer, modulusBits: number): Buffer {
  const hLen = mHash.length
  const emBits = modulusBits - 1
  const emLen = Math.ceil(emBits / 8)
  const salt = randomBytes(hLen)
  const h = pssHash(hash, mHash, salt)
  const db = Buffer.concat([Buffer.alloc(emLen - 2 * hLen - 2), Buffer.from([0x01]), salt])
  const maskedDb = xor(db, mgf1(hash, h, emLen - hLen - 1))
  maskedDb[0]! &= 0xff >> (8 * emLen - emBits)
  const em = Buffer.concat([maskedDb, h, Buffer.from([0xbc])])
  return Buffer.concat([Buffer.alloc(Math.ceil(modulusBits / 8) - emLen), em])
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with sLen = hLen, on the k-byte output of the primitive. */
function pssVerify(hash: HashName, mHash: Buffer, encoded: Buffer, modulusBits: number): boolean {
  const hLen = mHash.length
  const emBits = modulusBits - 1
  const emLen = Math.ceil(emBits / 8)
  if (encoded.subarray(0, encoded.length - emLen).some((b) => b !== 0)) return false
  const em = encoded.subarray(encoded.length - emLen)
  if (emLen < 2 * hLen + 2 || em[emLen - 1] !== 0xbc) return false
  const maskedDb = em.subarray(0, emLen - hLen - 1)
  const h = em.subarray(emLen - hLen - 1, emLen - 1)
  const topBits = 0xff << (8 - (8 * emLen - emBits))
  if ((maskedDb[0]! & topBits & 0xff) !== 0) return false
  const db = xor(maskedDb, mgf1(hash, h, emLen - hLen - 1))
  db[0]! &= 0xff >> (8 * emLen - emBits)
  const psLength = emLen - 2 * hLen - 2
  if (db.subarray(0, psLength).some((b) => b !== 0) || db[psLength] !== 0x01) return false
  const salt = db.subarray(db.length - hLen)
  return constantTimeEqual(h, pssHash(hash, mHash, salt))
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/** node:crypto's padding options for a RAW message (PSS salt = hash length, as KMS). */
function rawOptions(key: KeyObject, algorithm: SigningAlgorithmFacts) {
  return algorithm.scheme === 'rsa-pss'
    ? {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: hashLength(algorithm.hash),
      }
    : { key, padding: constants.RSA_PKCS1_PADDING }
}

function rsaSign(req: SignRequest): Buffer {
  const key = privateKeyObject(req.privateKey)
  const { hash } = req.algorithm
  if (req.messageType === 'RAW') return sign(hash, req.message, rawOptions(key, req.algorithm))
  const bits = key.asymmetricKeyDetails!.modulusLength!
  const encoded =
    req.algorithm.scheme === 'rsa-pss'
      ? pssEncode(hash, req.message, bits)
      : pkcs1Encoding(hash, req.message, modulusBytes(key))
  return privateEncrypt({ key, padding: NO_PADDING }, encoded)
}

function rsaVerify(req: VerifyRequest): boolean {
  const key = publicKeyObject(req.publicKey)
  const k = modulusBytes(key)
  if (req.signature.length !== k) return false
  const { hash } = req.algorithm
  try {
    if (req.messageType === 'RAW') {
      return verify(hash, req.message, rawOptions(key, req.algorithm), req.signature)
    }
    const encoded = publicDecrypt({ key, padding: NO_PADDING }, req.signature)
    return req.algorithm.scheme === 'rsa-pss'
      ? pssVerify(hash, req.message, encoded, key.asymmetricKeyDetails!.modulusLength!)
      : constantTimeEqual(encoded, pkcs1Encoding(hash, req.message, k))
  } catch {
    // A signature that is not below the modulus: not a signature of this key.
    return false
  }
}

/** RSA_2048/3072/4096 (public exponent 65537, node's default). */
export const rsaFamily: KeyFamily = {
  generate: (material) =>
    generateDerKeyPair({
      type: 'rsa',
      modulusLength: material.kind === 'rsa' ? material.modulusBits : 0,
    }),
  sign: rsaSign,
  verify: rsaVerify,
  // RSAES-OAEP with MGF1 over the same hash and an empty label (Developer Guide).
  encrypt: (req) =>
    publicEncrypt(
      {
        key: publicKeyObject(req.publicKey),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: req.algorithm.hash!,
      },
      req.plaintext,
    ),
  decrypt: (req) => {
    try {
      return privateDecrypt(
        {
          key: privateKeyObject(req.privateKey),
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: req.algorithm.hash!,
        },
        req.ciphertext,
      )
    } catch {
      return undefined
    }
  },
}
