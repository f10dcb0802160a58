import type { Caller } from '../domain/caller.js'
import type { KeyRecord } from '../domain/key.js'
import type { RequestOrigin } from '../domain/request-conditions.js'

/**
 * One authorization question: may `caller` perform `action` on `resource`? This is the shape
 * IAM and key policies answer (Developer Guide, "Authentication and access control": a
 * principal, an action `kms:<Operation>`, a resource ARN and the request context).
 */
export interface AuthorizationRequest {
  readonly caller: Caller
  /** `kms:` and the API operation name, as in a policy's Action element. */
  readonly action: `kms:${string}`
  /**
   * The key ARN the operation acts on, or `*` for operations that act on no key (CreateKey,
   * ListKeys, GenerateRandom, the custom key store operations: their policies name `*`).
   */
  readonly resource: string
  /** The request context a policy condition may read. */
  readonly context: {
    readonly region: string
    readonly requestId: string
    /** The peer's IP address and whether TLS carried the call (aws:SourceIp, aws:SecureTransport). */
    readonly origin?: RequestOrigin
  }
  /** The API operation (`Encrypt`); `action` differs for ReEncrypt (`kms:ReEncryptFrom`). */
  readonly operation?: string
  /**
   * The operation's validated input, the source of request condition keys
   * (kms:EncryptionContext:*, kms:EncryptionAlgorithm, kms:RequestAlias, aws:RequestTag/*, …)
   * and of grant constraints' encryption context.
   */
  readonly input?: unknown
  /** The resolved key when `resource` is a key ARN: its policy, tags, spec, usage, origin. */
  readonly key?: KeyRecord
  /** For ReEncrypt: whether the key is the source (ReEncryptFrom) or the destination. */
  readonly role?: 'source' | 'destination'
}

/**
 * Decides whether a call may proceed: the seam the authorization (key policy and IAM) work
 * fills. It throws the AWS exception to answer (AccessDeniedException with AWS's message) and
 * returns when the call is allowed. The request core asks it once per call for operations on
 * no key, and once per key as each key is resolved, before the operation sees the key.
 *
 * @example
 *   await authorizer.authorize({ caller, action: 'kms:Encrypt', resource: key.arn, context })
 */
export interface Authorizer {
  authorize(request: AuthorizationRequest): void | Promise<void>
}

/**
 * Allows every request: `--dev` mode, where every caller is the admin of 111122223333 and
 * every call is allowed (issue 12). Otherwise src/services/policy-authorizer.ts decides.
 */
export const allowAll: Authorizer = { authorize: () => {} }
