import type { Caller } from '../domain/caller.js'

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
  }
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
 * Allows every request: today's behaviour, where the only access rule (a key is usable by its
 * own account alone, the default key policy) is enforced where keys are resolved
 * (KeyService.resolve). Replaced when key policies are evaluated.
 */
export const allowAll: Authorizer = { authorize: () => {} }
