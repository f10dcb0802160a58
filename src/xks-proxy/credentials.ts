import { randomBytes } from 'node:crypto'
import type { XksCredential } from './config.js'

/**
 * SigV4 credential pairs for the proxy (spec Appendix A) and the JSON file the AWS KMS console
 * accepts (spec, "XKS proxy configuration in AWS KMS console").
 */

/** RFC 4648 base32 alphabet: A–Z and 2–7, exactly the spec's access key id alphabet. */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/**
 * A new credential pair: a 26-character access key id (130 random bits) and a secret of 32
 * random bytes in base64 without padding, 43 characters (the spec asks for at least 256 bits,
 * e.g. `openssl rand 32 | base64`).
 *
 * @example
 *   const { accessKeyId, secretAccessKey } = generateCredential()
 */
export function generateCredential(): XksCredential {
  const idBytes = randomBytes(26)
  const accessKeyId = [...idBytes].map((b) => BASE32[b & 31]).join('')
  const secretAccessKey = randomBytes(32).toString('base64').replace(/=+$/, '')
  return { accessKeyId, secretAccessKey }
}

/** The console's XKS proxy configuration file. */
export interface ConsoleConfiguration {
  readonly XksProxyUriPath: string
  readonly XksProxyAuthenticationCredential: {
    readonly AccessKeyId: string
    readonly RawSecretAccessKey: string
  }
}

/**
 * The JSON the AWS KMS console (and Keyward's CreateCustomKeyStore) takes for a key store.
 *
 * @example
 *   consoleConfiguration('/tenant-a/kms/xks/v1', credential)
 */
export function consoleConfiguration(
  uriPath: string,
  credential: XksCredential,
): ConsoleConfiguration {
  return {
    XksProxyUriPath: uriPath,
    XksProxyAuthenticationCredential: {
      AccessKeyId: credential.accessKeyId,
      RawSecretAccessKey: credential.secretAccessKey,
    },
  }
}
