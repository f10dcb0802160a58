import {
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  type ImportKeyMaterialCommandInput,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { OpenSslWorkspace } from './openssl.js'

/**
 * Importing key material the way a user follows AWS's documented steps (Developer Guide,
 * "Importing key material", steps 2–4), with the `openssl` command line as the independent
 * implementation: `openssl rand` for a secret key, `openssl genpkey` + `openssl pkcs8 -topk8`
 * for a private key, `openssl pkeyutl -encrypt` with OAEP for RSAES_OAEP_*, the two-step
 * `openssl rand 32` + `openssl enc -id-aes256-wrap-pad -iv A65959A6` + OAEP for
 * RSA_AES_KEY_WRAP_*, and `openssl pkeyutl -encrypt` with an SM2 key for SM2PKE.
 */

export type WrappingAlgorithm =
  | 'RSAES_OAEP_SHA_1'
  | 'RSAES_OAEP_SHA_256'
  | 'RSA_AES_KEY_WRAP_SHA_1'
  | 'RSA_AES_KEY_WRAP_SHA_256'
  | 'SM2PKE'

const OAEP = (hash: 'sha1' | 'sha256') => [
  '-pkeyopt',
  'rsa_padding_mode:oaep',
  '-pkeyopt',
  `rsa_oaep_md:${hash}`,
  '-pkeyopt',
  `rsa_mgf1_md:${hash}`,
]

export class ImportWorkspace extends OpenSslWorkspace {
  /** `openssl rand <n>`: fresh secret key material. */
  rand(bytes: number): Buffer {
    const { ok, stdout } = this.run(['rand', String(bytes)])
    if (!ok || stdout.length !== bytes) throw new Error('openssl rand failed')
    return stdout
  }

  /**
   * A private key from `openssl genpkey <args>`, as the PKCS #8 DER AWS asks for
   * (`openssl pkcs8 -topk8 -nocrypt -outform DER`), with its public key (DER SPKI) and the
   * path of its PEM file.
   */
  privateKey(genpkeyArgs: string[]): { pkcs8: Buffer; spki: Buffer; pemFile: string } {
    const pemFile = this.file(this.produce(['genpkey', ...genpkeyArgs]))
    const pkcs8 = this.produce(['pkcs8', '-topk8', '-nocrypt', '-in', pemFile, '-outform', 'DER'])
    const spki = this.produce(['pkey', '-in', pemFile, '-pubout', '-outform', 'DER'])
    return { pkcs8, spki, pemFile }
  }

  /**
   * `material` encrypted for import with the wrapping public key (DER SPKI from
   * GetParametersForImport) and `algorithm`, exactly as AWS documents for openssl.
   */
  wrap(algorithm: WrappingAlgorithm, wrappingKey: Uint8Array, material: Buffer): Buffer {
    const encrypt = (hash: 'sha1' | 'sha256' | undefined, input: string) =>
      this.produce([
        'pkeyutl',
        '-encrypt',
        '-pubin',
        '-inkey',
        this.file(wrappingKey),
        '-keyform',
        'DER',
        ...(hash ? OAEP(hash) : []),
        '-in',
        input,
      ])
    switch (algorithm) {
      case 'RSAES_OAEP_SHA_1':
        return encrypt('sha1', this.file(material))
      case 'RSAES_OAEP_SHA_256':
        return encrypt('sha256', this.file(material))
      case 'RSA_AES_KEY_WRAP_SHA_1':
      case 'RSA_AES_KEY_WRAP_SHA_256': {
        // Step 1: a fresh 256-bit AES key wraps the material with AES-KWP (RFC 5649).
        const aesKey = this.rand(32)
        const wrappedMaterial = this.produce([
          'enc',
          '-id-aes256-wrap-pad',
          '-K',
          aesKey.toString('hex'),
          '-iv',
          'A65959A6',
          '-in',
          this.file(material),
        ])
        // Step 2: the wrapping public key encrypts the AES key with RSAES-OAEP; then both are
        // concatenated, the encrypted AES key first.
        const hash = algorithm === 'RSA_AES_KEY_WRAP_SHA_1' ? 'sha1' : 'sha256'
        const wrappedKey = encrypt(hash, this.file(aesKey))
        return Buffer.concat([wrappedKey, wrappedMaterial])
      }
      case 'SM2PKE':
        return encrypt(undefined, this.file(material))
    }
  }
}

/**
 * The whole documented flow in one call: GetParametersForImport, wrap with openssl,
 * ImportKeyMaterial (`client` may be a factory, called once per request). Extra ImportKeyMaterial members (ExpirationModel, ValidTo, ImportType, …)
 * pass through; KEY_MATERIAL_DOES_NOT_EXPIRE unless told otherwise.
 *
 * @example
 *   const out = await importMaterial(kms, ws, { keyId, material: ws.rand(32) })
 */
export async function importMaterial(
  client: KMSClient | (() => KMSClient),
  ws: ImportWorkspace,
  req: {
    keyId: string
    material: Buffer
    algorithm?: WrappingAlgorithm
    wrappingKeySpec?: 'RSA_2048' | 'RSA_3072' | 'RSA_4096' | 'SM2'
    input?: Partial<ImportKeyMaterialCommandInput>
  },
) {
  // A client per request when given a factory: an SDK client corrects its clock from the
  // server's Date header after the first answer, which a ManualClock server must not undo.
  const kms = () => (typeof client === 'function' ? client() : client)
  const algorithm = req.algorithm ?? 'RSAES_OAEP_SHA_256'
  const params = await kms().send(
    new GetParametersForImportCommand({
      KeyId: req.keyId,
      WrappingAlgorithm: algorithm,
      WrappingKeySpec: req.wrappingKeySpec ?? (algorithm === 'SM2PKE' ? 'SM2' : 'RSA_2048'),
    }),
  )
  return kms().send(
    new ImportKeyMaterialCommand({
      KeyId: req.keyId,
      ImportToken: params.ImportToken,
      EncryptedKeyMaterial: ws.wrap(algorithm, params.PublicKey!, req.material),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      ...req.input,
    }),
  )
}
