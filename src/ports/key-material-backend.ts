import type { SealingKey } from '../domain/ciphertext.js'
import type { CustomKeyStoreRecord } from '../domain/custom-key-store.js'
import type { EncryptionContext } from '../domain/encryption-context.js'
import type { KeyRecord } from '../domain/key.js'
import type { BackendKind } from '../domain/key-origins.js'

/**
 * The KeyMaterialBackend port: what holds a KMS key's material and seals and opens under it.
 * Three adapters implement it: software (material wrapped under the root key,
 * src/adapters/backend-software/), PKCS#11 tokens of CloudHSM-type custom key stores
 * (src/adapters/pkcs11/pkcs11-backend.ts) and XKS proxies of external key stores
 * (src/adapters/xks/xks-backend.ts). Which one serves a key is the origin table's answer
 * (KEY_ORIGINS in src/domain/key-origins.ts); the adapters are chosen in src/server.ts.
 *
 * Every method takes plain domain values (never an operation's context). Failures that AWS
 * answers for a key come out as the AWS exception (KMSInvalidStateException "… is
 * unavailable.", InvalidCiphertextException); a backend that cannot be reached at all (an HSM
 * that refuses the login) comes out as {@link BackendUnavailableError}, which the caller turns
 * into the answer of its own operation and records on the store's connection state.
 */

/** The key a backend works for: the members of the record it needs, nothing else. */
export type BackendKey = Pick<
  KeyRecord,
  'keyId' | 'arn' | 'region' | 'keySpec' | 'currentKeyMaterialId' | 'xksKeyId' | 'cloudHsmClusterId'
>

/**
 * The request a backend call serves, for backends that pass it on (XKS requestMetadata:
 * kmsRequestId, kmsOperation, awsPrincipalArn; XKS spec, "Request metadata").
 */
export interface BackendCall {
  readonly requestId: string
  readonly operation: string
  /** The caller's ARN; absent for Keyward's own calls (health checks). */
  readonly callerArn?: string
}

/** Where the key's material lives: its custom key store, or none for software keys. */
export interface BackendPlace {
  readonly store?: CustomKeyStoreRecord | undefined
}

/** What a new key's material is, as far as the key store must keep it. */
export interface GeneratedMaterial {
  /** Material Keyward keeps itself, to be wrapped under the root key and stored. */
  readonly bytes?: Buffer
  /** The DER SubjectPublicKeyInfo of a key pair. */
  readonly publicKey?: Buffer
}

/** Whether a backend can serve a store's keys now. */
export type BackendAvailability =
  | { readonly state: 'AVAILABLE' }
  /** It answers, but reports some of its parts unhealthy (an XKS proxy's DEGRADED fleet). */
  | { readonly state: 'DEGRADED' }
  | {
      readonly state: 'UNAVAILABLE'
      /** The ConnectionErrorCode AWS would report (API Reference, CustomKeyStoresListEntry). */
      readonly connectionErrorCode: string
      /** Why, for logs: names the module, token or proxy, never a PIN or secret. */
      readonly reason: string
    }

/**
 * Where the software backend (and the inner layer of the XKS backend) finds a key's material,
 * unwrapped from the root key, by KeyMaterialId (default: the key's current one). KeyService is
 * one: it caches what it unwrapped, so Encrypt does not touch the disk.
 */
export interface MaterialSource {
  material(key: BackendKey, keyMaterialId?: string): Promise<SealingKey | undefined>
}

/** The port. */
export interface KeyMaterialBackend {
  readonly kind: BackendKind
  /**
   * Makes the material of a new key: returns what Keyward must store (software and XKS keys),
   * or nothing when the material stays in the backend (an HSM object labelled with the ARN).
   */
  generate(
    key: BackendKey,
    options: BackendPlace & { call: BackendCall },
  ): Promise<GeneratedMaterial>
  /** Seals under the key's current material; returns the blob and the material's id. */
  seal(
    key: BackendKey,
    options: BackendPlace & {
      plaintext: Buffer
      context?: EncryptionContext | undefined
      call: BackendCall
    },
  ): Promise<{ blob: Buffer; keyMaterialId: string }>
  /** Opens a blob {@link seal} made; any mismatch is InvalidCiphertextException. */
  open(
    key: BackendKey,
    options: BackendPlace & {
      blob: Buffer
      context?: EncryptionContext | undefined
      call: BackendCall
    },
  ): Promise<{ plaintext: Buffer; keyMaterialId: string }>
  /**
   * Destroys the key's material where the backend holds it (the HSM object). Software material
   * goes with the key's record (KeyService.destroy); an external key belongs to its key
   * manager, which AWS KMS never deletes either: for those this does nothing.
   */
  destroy(key: BackendKey, options: BackendPlace): Promise<void>
  /** `length` random bytes from the backend's generator. */
  random(length: number, options: BackendPlace): Promise<Buffer>
  /**
   * Whether the store's keys can be served now: reaches the HSM or proxy (opening and keeping
   * the connection, for backends that keep one). `call.operation` is what an XKS proxy is told
   * (ConnectCustomKeyStore, KmsHealthCheck).
   */
  availability(options: BackendPlace & { call: BackendCall }): Promise<BackendAvailability>
  /** Drops what this process keeps open for the store (sessions, TLS connections). */
  disconnect(store: CustomKeyStoreRecord): Promise<void>
  /** Drops every connection. */
  close(): Promise<void>
}

/**
 * Where one external key store's proxy is and how Keyward signs its calls to it (the settings
 * stored, or those about to be).
 */
export interface XksProxyTarget {
  readonly uriEndpoint: string
  readonly uriPath: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** The Region of the KMS key store, which is the SigV4 region of the calls. */
  readonly region: string
}

/** The PKCS#11 backend: also tells whether two configured clusters reach one token. */
export interface TokenBackend extends KeyMaterialBackend {
  readonly kind: 'pkcs11'
  /** Whether the clusters with these ids reach the same token (hence the same keys). */
  sameToken(a: string, b: string): boolean
}

/** The XKS backend: also checks settings that are not stored yet. */
export interface ProxyBackend extends KeyMaterialBackend {
  readonly kind: 'xks'
  /**
   * One GetHealthStatus call with these settings (CreateCustomKeyStore and UpdateCustomKeyStore
   * check new settings this way).
   *
   * @throws XksProxyError (src/domain/xks-failures.ts)
   */
  probe(target: XksProxyTarget, call: BackendCall): Promise<void>
}

/** The three backends, by kind: what src/server.ts hands to operations and services. */
export interface KeyMaterialBackends {
  readonly software: KeyMaterialBackend
  readonly pkcs11: TokenBackend
  readonly xks: ProxyBackend
}

/**
 * The backend cannot be reached at all (the token cannot be opened or logged in to). Carries
 * the ConnectionErrorCode the store records, and whether the failure was one the backend
 * knows (a connection error) or something unexpected, which callers let through unchanged.
 *
 * @example
 *   throw new BackendUnavailableError({ connectionErrorCode: 'INVALID_CREDENTIALS', cause })
 */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError'
  readonly connectionErrorCode: string
  /** False for an unexpected failure: the caller rethrows {@link cause} after recording it. */
  readonly expected: boolean

  constructor(details: { connectionErrorCode: string; cause: unknown; expected?: boolean }) {
    super(details.cause instanceof Error ? details.cause.message : String(details.cause), {
      cause: details.cause,
    })
    this.connectionErrorCode = details.connectionErrorCode
    this.expected = details.expected ?? true
  }
}
