import {
  CustomKeyStoreInvalidStateException,
  KMSInvalidStateException,
  XksKeyInvalidConfigurationException,
  XksKeyNotFoundException,
  XksProxyIncorrectAuthenticationCredentialException,
  XksProxyInvalidConfigurationException,
  XksProxyInvalidResponseException,
  XksProxyUriUnreachableException,
} from './errors/exceptions.js'

/**
 * How a failed call to an external key store proxy becomes an AWS KMS answer. AWS KMS cannot
 * add exception types to its cryptographic operations, so it reuses a few with XKS-specific
 * messages, and never passes on the proxy's own errorMessage (XKS Proxy API spec, "KMS
 * considerations"; the table is in ../shared/reference/xks.md §2.3, the connection error codes
 * in §2.4). The messages below follow the gist of that table.
 */

/** The error names of the XKS Proxy API (spec, "Error codes"). */
export const XKS_ERROR_NAMES = [
  'ValidationException',
  'InvalidStateException',
  'InvalidCiphertextException',
  'InvalidKeyUsageException',
  'AuthenticationFailedException',
  'AccessDeniedException',
  'KeyNotFoundException',
  'InvalidUriPathException',
  'ThrottlingException',
  'InternalException',
  'UnsupportedOperationException',
  'DependencyTimeoutException',
] as const
export type XksErrorName = (typeof XKS_ERROR_NAMES)[number]

/** Why a call to a proxy failed, in the categories AWS KMS tells apart. */
export type XksFailure =
  /** The proxy answered with an XKS error (`errorName`, HTTP status). */
  | { readonly kind: 'proxy'; readonly errorName: XksErrorName; readonly status: number }
  /** No connection (DNS failure, refused, reset), or every external key manager UNAVAILABLE. */
  | { readonly kind: 'unreachable' }
  /** The TLS handshake failed: untrusted or expired certificate, wrong name, old protocol. */
  | { readonly kind: 'tls' }
  /** No complete answer before the deadline. */
  | { readonly kind: 'timeout' }
  /** An answer that is not what the API defines (malformed JSON, missing fields, bad sizes). */
  | { readonly kind: 'invalid-response' }

/**
 * A failed call. The message is for Keyward's log only (it may quote the proxy's errorMessage,
 * which AWS KMS likewise logs but never returns to the KMS caller); it never holds plaintext.
 */
export class XksProxyError extends Error {
  override readonly name = 'XksProxyError'
  constructor(
    readonly failure: XksFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

const proxyName = (f: XksFailure) => (f.kind === 'proxy' ? f.errorName : undefined)

/**
 * The ConnectionErrorCode of a failed ConnectCustomKeyStore probe (a GetHealthStatus call):
 * AWS publishes the codes' meanings, not a mapping, so this is the one xks.md §2.4 infers.
 *
 * @example
 *   xksConnectionErrorCode({ kind: 'timeout' }) // 'XKS_PROXY_TIMED_OUT'
 */
export function xksConnectionErrorCode(failure: XksFailure): string {
  switch (failure.kind) {
    case 'unreachable':
      return 'XKS_PROXY_NOT_REACHABLE'
    case 'tls':
      return 'XKS_PROXY_INVALID_TLS_CONFIGURATION'
    case 'timeout':
      return 'XKS_PROXY_TIMED_OUT'
    case 'invalid-response':
      return 'XKS_PROXY_INVALID_RESPONSE'
    case 'proxy':
      switch (failure.errorName) {
        case 'AuthenticationFailedException':
          return 'INVALID_CREDENTIALS'
        case 'AccessDeniedException':
          return 'XKS_PROXY_ACCESS_DENIED'
        case 'InvalidUriPathException':
          return 'XKS_PROXY_INVALID_CONFIGURATION'
        case 'ThrottlingException':
        case 'DependencyTimeoutException':
          return 'XKS_PROXY_NOT_REACHABLE'
        default:
          return 'XKS_PROXY_INVALID_RESPONSE'
      }
  }
}

const UNREACHABLE =
  'AWS KMS cannot communicate with the external key store proxy. Verify that the XksProxyUriEndpoint is correct and that the proxy is running and reachable.'
const NO_TLS =
  'AWS KMS cannot establish a TLS connection to the external key store proxy. Verify the TLS configuration of the proxy, including its certificate.'
const TIMED_OUT =
  'The external key store proxy did not respond to the request in the time allotted. Retry the request. If the problem persists, verify the proxy and its external key manager.'
const UNINTERPRETABLE =
  'AWS KMS cannot interpret the response from the external key store proxy. If you see this error repeatedly, report it to your external key store proxy administrator.'

/**
 * CreateCustomKeyStore and UpdateCustomKeyStore: the health check with the new settings failed.
 *
 * @example
 *   throw xksStoreSettingsError(error.failure)
 */
export function xksStoreSettingsError(failure: XksFailure): Error {
  switch (proxyName(failure) ?? failure.kind) {
    case 'AuthenticationFailedException':
      return new XksProxyIncorrectAuthenticationCredentialException(
        'The external key store proxy could not authenticate AWS KMS. Verify the XKS proxy authentication credentials (XksProxyAuthenticationCredential) of the custom key store and of the proxy.',
      )
    case 'InvalidUriPathException':
      return new XksProxyInvalidConfigurationException(
        'The external key store proxy rejected the request because of an invalid URI path. Verify the URI path (XksProxyUriPath) of the custom key store.',
      )
    case 'unreachable':
    case 'ThrottlingException':
    case 'DependencyTimeoutException':
      return new XksProxyUriUnreachableException(UNREACHABLE)
    case 'tls':
      return new XksProxyUriUnreachableException(NO_TLS)
    case 'timeout':
      return new XksProxyUriUnreachableException(TIMED_OUT)
    default:
      return new XksProxyInvalidResponseException(UNINTERPRETABLE)
  }
}

/**
 * XksKeyNotFoundException, as the API Reference describes it.
 *
 * @example
 *   throw xksKeyNotFound()
 */
export const xksKeyNotFound = () =>
  new XksKeyNotFoundException(
    "The request was rejected because the external key store proxy could not find the external key. This exception is thrown when the value of the XksKeyId parameter doesn't identify a key in the external key manager associated with the external key store proxy. To find the XksKeyId for an existing KMS key, use the DescribeKey operation.",
  )

/**
 * XksKeyInvalidConfigurationException, as the API Reference describes it: the external key is
 * not an enabled AES-256 key for encryption and decryption.
 *
 * @example
 *   if (meta.keySpec !== 'AES_256') throw xksKeyInvalidConfiguration()
 */
export const xksKeyInvalidConfiguration = () =>
  new XksKeyInvalidConfigurationException(
    'The request was rejected because the external key specified by the XksKeyId parameter did not meet the configuration requirements for an external key store. The external key must be an AES-256 symmetric key that is enabled and performs encryption and decryption.',
  )

/**
 * CreateKey: GetKeyMetadata of the external key failed.
 *
 * @example
 *   throw xksCreateKeyError(error.failure, { storeId, xksKeyId })
 */
export function xksCreateKeyError(
  failure: XksFailure,
  key: { customKeyStoreId: string; xksKeyId: string },
): Error {
  switch (proxyName(failure)) {
    case 'KeyNotFoundException':
      return xksKeyNotFound()
    case 'InvalidStateException':
    case 'InvalidKeyUsageException':
    case 'UnsupportedOperationException':
      return xksKeyInvalidConfiguration()
    case 'AccessDeniedException':
      return new KMSInvalidStateException(
        'The external key store proxy denied access to the operation. Verify that the proxy authorizes this request.',
      )
    default:
      return new CustomKeyStoreInvalidStateException(
        `Custom key store ${key.customKeyStoreId} cannot use its external key store proxy: ${cryptoMessage(failure)}`,
      )
  }
}

/**
 * Encrypt, Decrypt, ReEncrypt and GenerateDataKey*: every proxy failure is a
 * KMSInvalidStateException, with a message saying what went wrong.
 *
 * @example
 *   throw xksCryptoError(error.failure, key.arn)
 */
export function xksCryptoError(failure: XksFailure, keyArn: string): Error {
  return new KMSInvalidStateException(`${keyArn}: ${cryptoMessage(failure)}`)
}

/**
 * Decrypt and ReEncrypt: the proxy decrypted, but what it returned does not open under the
 * key's own material (xks.md §2.3, "proxy returns a ciphertext that is invalid").
 *
 * @example
 *   openCiphertextTwice({ ..., innerFailure: () => xksInnerLayerCorrupt(key.arn) })
 */
export const xksInnerLayerCorrupt = (keyArn: string) =>
  new KMSInvalidStateException(
    `${keyArn}: The ciphertext that the external key store proxy submitted for decryption, or the encryption context, is corrupted, missing, or otherwise invalid.`,
  )

function cryptoMessage(failure: XksFailure): string {
  switch (proxyName(failure) ?? failure.kind) {
    case 'InvalidCiphertextException':
      return 'The external key store proxy rejected the request because the specified ciphertext or encryption context is corrupted, missing, or otherwise invalid.'
    case 'InvalidStateException':
      return 'The external key is not enabled in the external key manager.'
    case 'InvalidKeyUsageException':
    case 'UnsupportedOperationException':
      return 'The external key does not support the requested operation.'
    case 'AuthenticationFailedException':
      return 'The external key store proxy could not authenticate AWS KMS. Verify the XKS proxy authentication credentials.'
    case 'AccessDeniedException':
      return 'The external key store proxy denied access to the operation.'
    case 'KeyNotFoundException':
      return 'The external key was not found in its external key manager.'
    case 'InvalidUriPathException':
      return 'The external key store proxy rejected the request because of an invalid URI path. Verify the URI path of the custom key store.'
    case 'ThrottlingException':
      return 'The external key store proxy rejected the request due to a very high request rate. Reduce the frequency of your calls.'
    case 'DependencyTimeoutException':
    case 'timeout':
      return TIMED_OUT
    case 'InternalException':
      return 'The external key store proxy cannot communicate with the external key manager.'
    case 'unreachable':
      return UNREACHABLE
    case 'tls':
      return NO_TLS
    default:
      return UNINTERPRETABLE
  }
}
