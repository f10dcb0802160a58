import type { KeyMaterialSpec, MaterialKind } from '../domain/key-specs.js'
import { ecFamily } from './ec.js'
import { ed25519Family } from './ed25519.js'
import type {
  DecryptRequest,
  DeriveRequest,
  EncryptRequest,
  KeyFamily,
  SignRequest,
  VerifyRequest,
} from './family.js'
import { mlDsaFamily } from './ml-dsa.js'
import { rsaFamily } from './rsa.js'
import { aesFamily, hmacFamily } from './secret.js'
import { sm2Family } from './sm2.js'

/**
 * The software cryptography of every key spec, one implementation per kind of material
 * (KEY_SPECS[spec].material.kind). Pure: no I/O, no AWS errors; callers map "does not verify",
 * "does not decrypt" and "not a usable peer key" to the exceptions AWS sends.
 */
const FAMILIES: Readonly<Record<MaterialKind, KeyFamily>> = {
  aes: aesFamily,
  hmac: hmacFamily,
  rsa: rsaFamily,
  ec: ecFamily,
  sm2: sm2Family,
  ed25519: ed25519Family,
  'ml-dsa': mlDsaFamily,
}

/**
 * The implementation of `op` for a kind; the capability table guarantees it exists.
 *
 * @example
 *   implementation(KEY_SPECS.RSA_2048.material, 'sign')(request)
 */
export function implementation<Op extends keyof KeyFamily>(
  material: KeyMaterialSpec,
  op: Op,
): NonNullable<KeyFamily[Op]> {
  const fn = FAMILIES[material.kind][op]
  if (!fn) throw new Error(`${material.kind} keys cannot ${op}`)
  return fn as NonNullable<KeyFamily[Op]>
}

/**
 * The key-pair operations, synchronous, as the crypto worker threads run them
 * (src/crypto/pool-worker.ts). Request handlers use the asynchronous functions below, so that
 * a 20 ms ML-DSA signature or an RSA-4096 decryption never stalls the event loop.
 */
export const KEY_PAIR_OPERATIONS = {
  sign: (req: SignRequest): Buffer => implementation(req.material, 'sign')(req),
  verify: (req: VerifyRequest): boolean => implementation(req.material, 'verify')(req),
  encrypt: (req: EncryptRequest): Buffer => implementation(req.material, 'encrypt')(req),
  decrypt: (req: DecryptRequest): Buffer | undefined =>
    implementation(req.material, 'decrypt')(req),
  derive: (req: DeriveRequest): Buffer | undefined =>
    implementation(req.material, 'deriveSharedSecret')(req),
} as const
