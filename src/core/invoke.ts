import type { Caller } from '../domain/caller.js'
import type { KeyRecord } from '../domain/key.js'
import { isKmsException } from '../domain/kms-exception.js'
import type { OperationContext } from '../operations/context.js'
import { OPERATIONS } from '../operations/index.js'
import type { AuditSink, UsedKey } from '../ports/audit-sink.js'
import type { Authorizer } from '../ports/authorizer.js'
import type { Clock } from '../ports/clock.js'
import type { KeyMaterialBackends } from '../ports/key-material-backend.js'
import type { Random } from '../ports/random.js'
import type { CustomKeyStoreService } from '../services/custom-key-stores.js'
import type { KeyService } from '../services/key-service.js'
import { UnsupportedOperationException } from '../domain/errors/exceptions.js'
import type { KmsOperationName } from '../wire/generated/model.js'

/**
 * The request core: what every front door (today the AWS JSON endpoint; later a console's
 * API, another cloud's API, KMIP) does with an authenticated, validated call, in one place:
 *
 *   findHandler → authorizeCall → execute (resolve → authorizeKey → the operation) → record
 *
 * Front doors do protocol work only (parse, authenticate, validate, serialize, render errors)
 * and call {@link Invoke}. Keys are resolved inside the operation, where AWS's order of checks
 * puts them; KeyService hands each resolved key to the context's onKeyResolved, which
 * authorizes it and notes it as used. The record step gets those keys, never parses them back
 * out of the output. docs/architecture.md draws the route.
 */

/** What a front door has established about one call before handing it to the core. */
export interface Call {
  readonly operation: KmsOperationName
  /** Validated (generated validators) and frozen: blobs as Buffers, timestamps as Dates. */
  readonly input: unknown
  readonly caller: Caller
  readonly region: string
  /** The ID the answer carries (x-amzn-RequestId); also in log lines and audit events. */
  readonly requestId: string
}

/** Runs one call; resolves with the operation's output, rejects with what to answer. */
export type Invoke = (call: Call) => Promise<Record<string, unknown>>

/** What the core is made of; chosen in src/server.ts. */
export interface CoreDeps {
  readonly keys: KeyService
  readonly customKeyStores: CustomKeyStoreService
  /** The key material backends the origin table names (src/domain/key-origins.ts). */
  readonly backends: KeyMaterialBackends
  readonly clock: Clock
  readonly random: Random
  readonly authorizer: Authorizer
  readonly audit: AuditSink
}

type AnyHandler = (ctx: OperationContext, input: unknown) => Promise<Record<string, unknown>>

/**
 * Operations that act on no KMS key: their IAM policies name the resource `*` (Developer
 * Guide, "AWS KMS permissions", the Resources column). They are authorized once per call on
 * `*`; every other operation is authorized on each key it resolves.
 */
const ON_NO_KEY: ReadonlySet<KmsOperationName> = new Set<KmsOperationName>([
  'ConnectCustomKeyStore',
  'CreateCustomKeyStore',
  'CreateKey',
  'DeleteCustomKeyStore',
  'DescribeCustomKeyStores',
  'DisconnectCustomKeyStore',
  'GenerateRandom',
  'ListAliases',
  'ListKeys',
  'ListRetirableGrants',
  'UpdateCustomKeyStore',
])

/** The handler of the operations table; UnsupportedOperationException for a model operation
 * Keyward does not implement. */
function findHandler(operation: KmsOperationName): AnyHandler {
  const handler = OPERATIONS[operation] as AnyHandler | undefined
  if (!handler) {
    throw new UnsupportedOperationException(
      `${operation} is not supported by this Keyward version.`,
    )
  }
  return handler
}

const actionOf = (operation: KmsOperationName) => `kms:${operation}` as const

/** The exception name the caller is answered with: anything else becomes an internal error. */
const errorNameOf = (error: unknown) =>
  isKmsException(error) ? error.name : 'KMSInternalException'

/**
 * Builds the core from its dependencies.
 *
 * @example
 *   const invoke = createInvoke({ keys, customKeyStores, backends, clock, random, authorizer, audit })
 *   const output = await invoke({ operation: 'Encrypt', input, caller, region, requestId })
 */
export function createInvoke(deps: CoreDeps): Invoke {
  return async (call) => {
    const used = new Map<string, UsedKey>()
    const context = { region: call.region, requestId: call.requestId }
    const authorize = (resource: string) =>
      deps.authorizer.authorize({
        caller: call.caller,
        action: actionOf(call.operation),
        resource,
        context,
      })
    const onKeyResolved = async (key: KeyRecord) => {
      await authorize(key.arn)
      used.set(key.arn, { arn: key.arn, region: key.region, keyId: key.keyId })
    }
    const record = (outcome: 'success' | { error: string }) =>
      deps.audit.record({
        operation: call.operation,
        requestId: call.requestId,
        caller: call.caller,
        region: call.region,
        at: deps.clock.now(),
        keys: [...used.values()],
        outcome,
      })
    try {
      const handler = findHandler(call.operation)
      await checkGrantTokens(deps.keys, call.input)
      if (ON_NO_KEY.has(call.operation)) await authorize('*')
      const output = await handler(operationContext(deps, { call, onKeyResolved }), call.input)
      record('success')
      return output
    } catch (error) {
      record({ error: errorNameOf(error) })
      throw error
    }
  }
}

/**
 * Every operation that takes GrantTokens refuses a token Keyward did not issue with
 * InvalidGrantTokenException (kms-errors.json lists it for each of them). A valid token adds
 * nothing more: grants take effect at once here (kms-authz.md §6.3), so the grant it names is
 * already among the key's grants.
 */
async function checkGrantTokens(keys: KeyService, input: unknown): Promise<void> {
  const tokens = (input as { readonly GrantTokens?: readonly string[] }).GrantTokens
  for (const token of tokens ?? []) await keys.grantIdOfToken(token)
}

/** The context of one operation: who, where, and the services it may use. */
function operationContext(
  deps: CoreDeps,
  request: { call: Call; onKeyResolved: (key: KeyRecord) => Promise<void> },
): OperationContext {
  const { call } = request
  return {
    operation: call.operation,
    requestId: call.requestId,
    caller: call.caller,
    region: call.region,
    scope: { accountId: call.caller.accountId, region: call.region },
    keys: deps.keys,
    customKeyStores: deps.customKeyStores,
    backends: deps.backends,
    clock: deps.clock,
    random: deps.random,
    onKeyResolved: request.onKeyResolved,
  }
}
