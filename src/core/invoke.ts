import type { Caller } from '../domain/caller.js'
import type { KeyRecord } from '../domain/key.js'
import type { RequestOrigin } from '../domain/request-conditions.js'
import { aliasArn } from '../domain/identifiers.js'
import { isKmsException } from '../domain/kms-exception.js'
import type { OperationContext } from '../operations/context.js'
import { OPERATIONS } from '../operations/index.js'
import type { AuditDetails, AuditSink, UsedKey } from '../ports/audit-sink.js'
import { AUDIT_FIELDS, requestParameters, responseElements } from './audit-fields.js'
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
  /**
   * Where the call came from, as the front door saw it: the peer's IP address (aws:SourceIp)
   * and whether it arrived over TLS (aws:SecureTransport).
   */
  readonly origin?: RequestOrigin
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
  /**
   * Whether a principal ARN named in a key policy exists (AWS refuses a policy naming an
   * unknown one); absent in dev mode, where any well-formed principal is accepted.
   */
  readonly principalExists?: (arn: string) => boolean
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
    const context = {
      region: call.region,
      requestId: call.requestId,
      // Where the call came from: aws:SourceIp, aws:SecureTransport and aws:UserAgent (a
      // policy may pin a client), and the audit trail's sourceIPAddress and userAgent.
      ...(call.origin ? { origin: call.origin } : {}),
    }
    const authorize = (check: { action?: `kms:${string}`; resource: string } & KeyCheck) =>
      deps.authorizer.authorize({
        caller: call.caller,
        action: check.action ?? actionOf(call.operation),
        resource: check.resource,
        context,
        operation: call.operation,
        input: call.input,
        ...(check.key ? { key: check.key } : {}),
        ...(check.role ? { role: check.role, action: reEncryptAction(check.role) } : {}),
      })
    let resolved = 0
    const onKeyResolved = async (key: KeyRecord) => {
      // ReEncrypt resolves its source key first, then its destination (re-encrypt.ts), and
      // needs kms:ReEncryptFrom on the one and kms:ReEncryptTo on the other (kms-authz.md §2).
      const role =
        call.operation === 'ReEncrypt' ? (resolved++ === 0 ? 'source' : 'destination') : undefined
      await authorize({ resource: key.arn, key, ...(role ? { role } : {}) })
      used.set(key.arn, { arn: key.arn, region: key.region, keyId: key.keyId })
    }
    const record = (outcome: 'success' | { error: string; message?: string }, output?: unknown) =>
      deps.audit.record({
        operation: call.operation,
        requestId: call.requestId,
        caller: call.caller,
        region: call.region,
        at: deps.clock.now(),
        keys: [...used.values()],
        outcome,
        eventId: deps.random.uuid(),
        details: auditDetails(call, output),
      })
    let output: Record<string, unknown>
    try {
      // Fail-closed audit (--audit-required): a trail known to be broken refuses the call
      // before it can change anything.
      deps.audit.assertWritable?.()
      const handler = findHandler(call.operation)
      await checkGrantTokens(deps.keys, call.input)
      for (const check of accountChecks(call)) await authorize(check)
      output = await handler(operationContext(deps, { call, onKeyResolved }), call.input)
      record('success', output)
    } catch (error) {
      record(outcomeOf(error))
      // A refusal is answered even when its event could not be written: it served nothing.
      throw error
    }
    // The answer waits for its event to be on disk when the trail is required; if it cannot
    // be written, the caller gets the trail's error instead of an unaudited answer.
    await deps.audit.written?.()
    return output
  }
}

/** The exception the caller is answered with, as the audit trail records it. */
function outcomeOf(error: unknown): { error: string; message?: string } {
  if (!isKmsException(error)) return { error: 'KMSInternalException' }
  return error.message ? { error: error.name, message: error.message } : { error: error.name }
}

/** The audit trail's view of a call: where from, and the allow-listed members. */
function auditDetails(call: Call, output: unknown): AuditDetails {
  const fields = AUDIT_FIELDS[call.operation] as { readOnly: boolean } | undefined
  // One object shape for every call (absent members undefined): this runs on every request.
  return {
    sourceIp: call.origin?.sourceIp || undefined,
    userAgent: call.origin?.userAgent || undefined,
    readOnly: fields?.readOnly ?? false,
    requestParameters: fields ? requestParameters(call.operation, call.input) : null,
    responseElements: fields && output ? responseElements(call.operation, output) : null,
  }
}

/** The key a check is on, and for ReEncrypt which side. */
interface KeyCheck {
  readonly key?: KeyRecord
  readonly role?: 'source' | 'destination'
}

const reEncryptAction = (role: 'source' | 'destination') =>
  role === 'source' ? ('kms:ReEncryptFrom' as const) : ('kms:ReEncryptTo' as const)

const ALIAS_OPERATIONS: ReadonlySet<KmsOperationName> = new Set<KmsOperationName>([
  'CreateAlias',
  'DeleteAlias',
  'UpdateAlias',
])

/**
 * The checks of a call that are on no key: `*` for operations on no key (and kms:TagResource
 * when CreateKey carries Tags), and the alias ARN for the alias half of alias operations,
 * which IAM policies alone decide (Developer Guide, "Controlling access to aliases").
 */
function accountChecks(call: Call): Array<{ action?: `kms:${string}`; resource: string }> {
  const input = (call.input ?? {}) as { Tags?: unknown[]; AliasName?: unknown }
  if (ON_NO_KEY.has(call.operation)) {
    const checks: Array<{ action?: `kms:${string}`; resource: string }> = [{ resource: '*' }]
    if (call.operation === 'CreateKey' && (input.Tags?.length ?? 0) > 0) {
      checks.push({ action: 'kms:TagResource', resource: '*' })
    }
    return checks
  }
  // ReplicateKey also needs kms:CreateKey, and kms:TagResource for Tags, in an IAM policy:
  // it creates a key in the replica Region (API Reference, ReplicateKey, "Required
  // permissions"). Checked on `*` in the request's context (the primary's Region).
  if (call.operation === 'ReplicateKey') {
    const checks: Array<{ action?: `kms:${string}`; resource: string }> = [
      { action: 'kms:CreateKey', resource: '*' },
    ]
    if ((input.Tags?.length ?? 0) > 0) checks.push({ action: 'kms:TagResource', resource: '*' })
    return checks
  }
  const alias = input.AliasName
  if (
    ALIAS_OPERATIONS.has(call.operation) &&
    typeof alias === 'string' &&
    alias.startsWith('alias/')
  ) {
    return [
      { resource: aliasArn({ accountId: call.caller.accountId, region: call.region }, alias) },
    ]
  }
  return []
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
    ...(deps.principalExists ? { principalExists: deps.principalExists } : {}),
    onKeyResolved: request.onKeyResolved,
  }
}
