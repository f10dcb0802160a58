/**
 * Policy documents: parse, validate and compile once (IAM User Guide, "Grammar of the IAM JSON
 * policy language"; Developer Guide, "Key policies"; kms-authz.md §1, §7.2). Evaluation then
 * touches only the compiled form.
 */
import { compileConditions, type CompiledCondition } from './conditions.js'
import { POLICY_MESSAGES, PolicyDocumentError } from './errors.js'
import { compileGlob, type Glob } from './glob.js'
import { copyJson, readJson, type JsonObject, type JsonValue } from './json.js'
import { compilePrincipal, type PrincipalSet } from './principal.js'
import { conditionKeyInfo } from './tables.js'
import { parseTemplate, type Template } from './variables.js'

/** A key policy (with principals) or an identity policy (a user's, group's, role's or session's). */
export type PolicyKind = 'key' | 'identity'

/** One entry of a Resource or NotResource element. */
export type ResourcePattern =
  | { readonly any: true }
  | { readonly any: false; readonly template: Template; readonly glob?: Glob }

/** A compiled statement. `index` is its 0-based position, for reporting. */
export interface CompiledStatement {
  readonly index: number
  readonly sid?: string
  readonly effect: 'Allow' | 'Deny'
  /** Principal or NotPrincipal; absent in identity policies. */
  readonly principal?: PrincipalSet
  readonly notPrincipal: boolean
  /** Lower-cased action patterns. */
  readonly actions: readonly Glob[]
  readonly notAction: boolean
  readonly resources: readonly ResourcePattern[]
  readonly notResource: boolean
  readonly conditions: readonly CompiledCondition[]
}

/** A parsed, validated and compiled policy. */
export interface CompiledPolicy {
  readonly kind: PolicyKind
  readonly version: '2012-10-17' | '2008-10-17'
  readonly id?: string
  readonly statements: readonly CompiledStatement[]
  /** Every principal ARN the statements name (account IDs as root ARNs). */
  readonly principals: readonly string[]
}

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  readonly kind: PolicyKind
  /** Size limit in UTF-8 bytes; default 32,768 for key policies, 131,072 otherwise. */
  readonly maxBytes?: number
  /** When given, every user, role and account a key policy names must exist. */
  readonly principalExists?: (arn: string) => boolean
}

/** Key policy quota, not adjustable (Developer Guide, "Resource quotas"). */
export const MAX_KEY_POLICY_BYTES = 32_768
/** Bound for identity policies (the KMS model's Policy length), to bound the work of a parse. */
export const MAX_IDENTITY_POLICY_BYTES = 131_072
/** Deeper than any valid policy needs (document → Statement → statement → Condition → operator → key → values). */
const MAX_DEPTH = 10

const DOCUMENT_MEMBERS = new Set(['Version', 'Id', 'Statement'])
const STATEMENT_MEMBERS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
])
const ACTION = /^(?:\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$/

/**
 * Parses a policy document given as JSON text or as an object, validates it against the
 * grammar, and compiles it.
 *
 * @throws PolicyDocumentError (MalformedPolicyDocumentException, or LimitExceededException
 *   when over the size limit)
 * @example
 *   const policy = parsePolicy(defaultKeyPolicy('111122223333'), { kind: 'key' })
 */
export function parsePolicy(input: string | object, options: ParsePolicyOptions): CompiledPolicy {
  const maxBytes =
    options.maxBytes ?? (options.kind === 'key' ? MAX_KEY_POLICY_BYTES : MAX_IDENTITY_POLICY_BYTES)
  let doc: JsonValue
  if (typeof input === 'string') {
    // Length in UTF-16 units is at most the UTF-8 length, so this cheap test goes first.
    if (input.length > maxBytes || Buffer.byteLength(input, 'utf8') > maxBytes) {
      throw new PolicyDocumentError(POLICY_MESSAGES.tooLarge(maxBytes, options.kind), {
        exception: 'LimitExceededException',
      })
    }
    doc = readJson(input, { maxDepth: MAX_DEPTH })
  } else {
    doc = copyJson(input, { maxDepth: MAX_DEPTH })
    if (Buffer.byteLength(JSON.stringify(doc), 'utf8') > maxBytes) {
      throw new PolicyDocumentError(POLICY_MESSAGES.tooLarge(maxBytes, options.kind), {
        exception: 'LimitExceededException',
      })
    }
  }
  if (!isObject(doc)) throw new PolicyDocumentError(POLICY_MESSAGES.notObject)
  for (const name of Object.keys(doc)) {
    if (!DOCUMENT_MEMBERS.has(name))
      throw new PolicyDocumentError(POLICY_MESSAGES.unknownMember(name))
  }
  const version = doc.Version ?? '2008-10-17'
  if (version !== '2012-10-17' && version !== '2008-10-17') {
    throw new PolicyDocumentError(POLICY_MESSAGES.version(String(version)))
  }
  if (doc.Id !== undefined && typeof doc.Id !== 'string') {
    throw new PolicyDocumentError(POLICY_MESSAGES.id)
  }
  const list =
    doc.Statement === undefined
      ? []
      : Array.isArray(doc.Statement)
        ? doc.Statement
        : [doc.Statement]
  if (list.length === 0) throw new PolicyDocumentError(POLICY_MESSAGES.noStatement)
  const statements = list.map((s, index) =>
    compileStatement(s, { ...options, index, variables: version === '2012-10-17' }),
  )
  return {
    kind: options.kind,
    version,
    ...(doc.Id !== undefined ? { id: doc.Id as string } : {}),
    statements,
    principals: [...new Set(statements.flatMap((s) => s.principal?.named ?? []))],
  }
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function compileStatement(
  s: JsonValue,
  options: ParsePolicyOptions & { index: number; variables: boolean },
): CompiledStatement {
  const n = options.index + 1
  const fail = (why: string): never => {
    throw new PolicyDocumentError(POLICY_MESSAGES.statement(n, why))
  }
  if (!isObject(s)) return fail('must be a JSON object.')
  for (const name of Object.keys(s)) {
    if (!STATEMENT_MEMBERS.has(name)) fail(`unknown element '${name}'.`)
  }
  const key = options.kind === 'key'
  const sid = s.Sid
  if (sid !== undefined) {
    if (typeof sid !== 'string') fail('Sid must be a string.')
    // Key policy Sids may contain spaces; IAM policy Sids are alphanumeric (Developer Guide,
    // "Key policy elements"; IAM User Guide, "Sid").
    if (!key && !/^[A-Za-z0-9]*$/.test(sid as string)) fail('Sid must be alphanumeric.')
  }
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') fail("Effect must be 'Allow' or 'Deny'.")
  const effect = s.Effect as 'Allow' | 'Deny'

  let principal: PrincipalSet | undefined
  const notPrincipal = s.NotPrincipal !== undefined
  if (key) {
    if ((s.Principal === undefined) === (s.NotPrincipal === undefined)) {
      fail('a key policy statement must have a Principal.')
    }
    principal = compilePrincipal((s.Principal ?? s.NotPrincipal)!, {
      ...(options.principalExists ? { exists: options.principalExists } : {}),
    })
  } else if (s.Principal !== undefined || s.NotPrincipal !== undefined) {
    fail('an identity policy statement cannot have a Principal.')
  }

  if ((s.Action === undefined) === (s.NotAction === undefined)) {
    fail('must have an Action or NotAction (a string or a list of strings).')
  }
  const actions = stringList(s.Action ?? s.NotAction, () =>
    fail('must have an Action or NotAction (a string or a list of strings).'),
  ).map((a) =>
    ACTION.test(a) ? compileGlob(a, { ignoreCase: true }) : fail(`invalid action '${a}'.`),
  )

  if ((s.Resource === undefined) === (s.NotResource === undefined)) {
    fail('must have a Resource or NotResource.')
  }
  const notResource = s.NotResource !== undefined
  const resourceValues = stringList(s.Resource ?? s.NotResource, () =>
    fail('Resource must be a string or a list of strings.'),
  )
  // Since 2025-08-18 KMS accepts only "*" as a key policy's Resource: it means "this key"
  // (AWS Health notice, kms-authz.md §1.2).
  if (key && (notResource || resourceValues.some((r) => r !== '*'))) {
    fail("the Resource of a key policy statement must be '*'.")
  }
  const resources = resourceValues.map(
    (r) => compileResource(r, options.variables) ?? fail(`invalid resource '${r}'.`),
  )

  const conditions =
    s.Condition === undefined
      ? []
      : compileConditions(s.Condition, { variables: options.variables, statement: n })
  if (key) checkKeyPolicyConditions(conditions)

  return {
    index: options.index,
    ...(typeof sid === 'string' ? { sid } : {}),
    effect,
    ...(principal ? { principal } : {}),
    notPrincipal,
    actions,
    notAction: s.NotAction !== undefined,
    resources,
    notResource,
    conditions,
  }
}

/** A string or a non-empty list of strings (a one-element list may be a plain string). */
function stringList(v: JsonValue | undefined, fail: () => never): string[] {
  const list = Array.isArray(v) ? v : [v]
  if (list.length === 0 || !list.every((x) => typeof x === 'string')) return fail()
  return list as string[]
}

/**
 * `*`, or an ARN whose segments may hold `*` and `?`; policy variables only in the resource
 * part, after the fifth colon (IAM User Guide, "Resource").
 */
function compileResource(r: string, variables: boolean): ResourcePattern | undefined {
  if (r === '*') return { any: true }
  const parts = r.split(':')
  if (parts.length < 6 || parts[0] !== 'arn') return undefined
  const head = parts.slice(0, 5).join(':')
  if (head.includes('${') && variables) return undefined
  const template = parseTemplate(r, { variables })
  return template.hasVariables
    ? { any: false, template }
    : { any: false, template, glob: compileGlob(r) }
}

/**
 * Conditions KMS refuses in a key policy (kms-authz.md §5, §7.2): IAM-only keys, and
 * ForAllValues on the single-valued encryption context and request tag keys.
 */
function checkKeyPolicyConditions(conditions: readonly CompiledCondition[]): void {
  for (const c of conditions) {
    if (conditionKeyInfo(c.key)?.inKeyPolicy === false) {
      throw new PolicyDocumentError(POLICY_MESSAGES.iamOnlyConditionKeys)
    }
    if (c.set === 'all') {
      if (c.key.startsWith('kms:encryptioncontext:')) {
        throw new PolicyDocumentError(POLICY_MESSAGES.overlyPermissive('encryption context'))
      }
      if (c.key.startsWith('aws:requesttag/')) {
        throw new PolicyDocumentError(POLICY_MESSAGES.overlyPermissive('tag'))
      }
    }
  }
}
