import { KMSInvalidStateException, UnsupportedOperationException } from './errors/exceptions.js'

/*
 * The answers a key material backend gives for a key it cannot serve, written once for the
 * three backends (src/adapters/backend-software, src/adapters/pkcs11, src/adapters/xks) and the
 * operations that check a key's store before calling one.
 */

/**
 * A key of a custom key store whose store is not connected, or whose HSM cannot be reached, is
 * Unavailable (kms-api.md §3.3, footnote [11]: "KMSInvalidStateException: <key ARN> is
 * unavailable.").
 *
 * @example
 *   if (store?.connectionState !== 'CONNECTED') throw keyUnavailable(key)
 */
export const keyUnavailable = (key: { readonly arn: string }) =>
  new KMSInvalidStateException(`${key.arn} is unavailable.`)

/**
 * The HSM object of a key is gone (deleted on the token behind Keyward's back).
 *
 * @example
 *   throw keyMaterialMissing(key, 'cluster-1234567890a')
 */
export const keyMaterialMissing = (key: { readonly arn: string }, cloudHsmClusterId?: string) =>
  new KMSInvalidStateException(
    `${key.arn} is unavailable: its key material (the object labelled with the key ARN) is missing from CloudHSM cluster ${cloudHsmClusterId}.`,
  )

/**
 * A key with no material to seal under (a key whose record names none, which the key state
 * checks should have refused before).
 *
 * @example
 *   if (!sealing) throw noKeyMaterial(key)
 */
export const noKeyMaterial = (key: { readonly arn: string }) =>
  new UnsupportedOperationException(`${key.arn} has no key material.`)

/**
 * Whether an error is a backend's own failure (the answers above) rather than a GCM tag that
 * does not verify: what tells openCiphertextWithGcmKey to let it through unchanged.
 *
 * @example
 *   openCiphertextWithGcmKey({ …, isHsmFailure: isBackendFailure })
 */
export const isBackendFailure = (error: unknown): boolean =>
  error instanceof KMSInvalidStateException
