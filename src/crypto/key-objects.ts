import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPair,
  type KeyObject,
} from 'node:crypto'
import type { GeneratedMaterial } from './family.js'

/**
 * node:crypto KeyObjects for stored DER, memoised per Buffer: the KeyService caches the
 * unwrapped material Buffer of each key, so a key is parsed once, not on every Sign.
 */
const privateKeys = new WeakMap<Buffer, KeyObject>()
const publicKeys = new WeakMap<Buffer, KeyObject>()

/** The KeyObject of a PKCS #8 DER private key. */
export function privateKeyObject(pkcs8: Buffer): KeyObject {
  let key = privateKeys.get(pkcs8)
  if (!key) {
    key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    privateKeys.set(pkcs8, key)
  }
  return key
}

/** The KeyObject of a DER SubjectPublicKeyInfo. */
export function publicKeyObject(spki: Buffer): KeyObject {
  let key = publicKeys.get(spki)
  if (!key) {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' })
    publicKeys.set(spki, key)
  }
  return key
}

const DER = {
  publicKeyEncoding: { type: 'spki', format: 'der' },
  privateKeyEncoding: { type: 'pkcs8', format: 'der' },
} as const

/** A fresh key pair from OpenSSL (off the event loop), as PKCS #8 and SPKI DER. */
export function generateDerKeyPair(
  options:
    | { type: 'rsa'; modulusLength: number }
    | { type: 'ec'; namedCurve: string }
    | { type: 'ed25519' },
): Promise<GeneratedMaterial> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicKey: Buffer, privateKey: Buffer) =>
      error ? reject(error) : resolve({ privateKey, publicKey })
    // The overloads of generateKeyPair do not unify; each call names its key type.
    if (options.type === 'rsa') {
      generateKeyPair('rsa', { modulusLength: options.modulusLength, ...DER }, done)
    } else if (options.type === 'ec') {
      generateKeyPair('ec', { namedCurve: options.namedCurve, ...DER }, done)
    } else {
      generateKeyPair('ed25519', DER, done)
    }
  })
}

/**
 * ECDH (SEC 1 §3.3.1): the x-coordinate of d·Q. Undefined when the peer key does not parse or
 * is not a point of the same curve as ours (OpenSSL checks that the point is on the curve).
 */
export function ecdh(privateKey: KeyObject, peerSpki: Buffer): Buffer | undefined {
  let peer: KeyObject
  try {
    peer = createPublicKey({ key: peerSpki, format: 'der', type: 'spki' })
  } catch {
    return undefined
  }
  const ours = privateKey.asymmetricKeyDetails?.namedCurve
  if (peer.asymmetricKeyType !== 'ec' || peer.asymmetricKeyDetails?.namedCurve !== ours) {
    return undefined
  }
  try {
    return diffieHellman({ privateKey, publicKey: peer })
  } catch {
    return undefined
  }
}
