import type { Caller } from '../domain/caller.js'
import type { Scope } from '../domain/identifiers.js'
import type { Clock } from '../ports/clock.js'
import type { KeyMaterialBackends } from '../ports/key-material-backend.js'
import type { Random } from '../ports/random.js'
import type { CustomKeyStoreService } from '../services/custom-key-stores.js'
import type { KeyRequester, KeyService } from '../services/key-service.js'
import { DryRunOperationException } from '../domain/errors/exceptions.js'
import type { KmsInputs, KmsOperationName, KmsOutput } from '../wire/generated/model.js'

/**
 * What every operation handler receives besides its input. It is the {@link KeyRequester} of
 * the keys the operation resolves: `ctx.keys.resolve({ by: ctx, keyId, accept })`.
 */
export interface OperationContext extends KeyRequester {
  /** The operation being served (XKS proxies are told it as kmsOperation). */
  readonly operation: KmsOperationName
  readonly requestId: string
  /** Who sent the request, as the front door authenticated it. */
  readonly caller: Caller
  /** The Region of the request (from the SigV4 credential scope). */
  readonly region: string
  /** The caller's account in the request's Region: where new keys and aliases go. */
  readonly scope: Scope
  readonly keys: KeyService
  /** Custom key stores: their records and connection state. */
  readonly customKeyStores: CustomKeyStoreService
  /**
   * The key material backends (software, PKCS#11, XKS), reached by the origin table
   * (src/operations/support/key-backends.ts); chosen in src/server.ts.
   */
  readonly backends: KeyMaterialBackends
  readonly clock: Clock
  readonly random: Random
  /**
   * Whether a user, role or session ARN named in a key policy exists; CreateKey and
   * PutKeyPolicy refuse a policy naming one that does not. Absent: no check (dev mode).
   */
  readonly principalExists?: (arn: string) => boolean
}

/** One operation: validated input in, declared output members out. */
export type Handler<Op extends KmsOperationName> = (
  ctx: OperationContext,
  input: KmsInputs[Op],
) => Promise<KmsOutput<Op>>

/**
 * Ends a DryRun request once every check has passed (API Reference, "DryRun"): the caller
 * learns the request would have succeeded, and nothing was changed or computed.
 */
export function stopIfDryRun(input: { readonly DryRun?: boolean }): void {
  if (input.DryRun) {
    throw new DryRunOperationException(
      'The request would have succeeded, but the DryRun option is set.',
    )
  }
}
