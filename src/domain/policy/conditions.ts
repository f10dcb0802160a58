/**
 * The Condition element: compile once, evaluate per request (IAM User Guide, "IAM JSON policy
 * elements: Condition operators" and "Multivalued context keys"; kms-authz.md §4.4).
 *
 * Logic: every operator block ANDs, every key under one operator ANDs, the values of one key OR
 * (for a negated operator: none may match). A missing key makes positive operators false and
 * negated ones true; `…IfExists` makes a missing key true; `ForAllValues` over an empty or
 * missing set is true, `ForAnyValue` false.
 */
import { POLICY_MESSAGES, PolicyDocumentError } from './errors.js'
import { globMatch, type WorkCounter } from './glob.js'
import { cidrContains, parseCidr, type Cidr } from './ip.js'
import type { JsonValue } from './json.js'
import { parseTemplate, renderTemplate, templateGlob, type Template } from './variables.js'

/** Operator families and how their values compare. */
type Family = 'String' | 'Numeric' | 'Date' | 'Bool' | 'Binary' | 'Ip' | 'Arn' | 'Null'

interface BaseOperator {
  readonly family: Family
  /** True for the negated forms (StringNotEquals, NotIpAddress, …). */
  readonly negated: boolean
  /** How one request value compares with one policy value. */
  readonly compare: 'eq' | 'eqi' | 'like' | 'lt' | 'le' | 'gt' | 'ge' | 'arn'
}

const op = (family: Family, compare: BaseOperator['compare'], negated = false): BaseOperator => ({
  family,
  compare,
  negated,
})

/** Every base operator of the IAM grammar, without IfExists and set prefixes. */
const OPERATORS: Readonly<Record<string, BaseOperator>> = {
  StringEquals: op('String', 'eq'),
  StringNotEquals: op('String', 'eq', true),
  StringEqualsIgnoreCase: op('String', 'eqi'),
  StringNotEqualsIgnoreCase: op('String', 'eqi', true),
  StringLike: op('String', 'like'),
  StringNotLike: op('String', 'like', true),
  NumericEquals: op('Numeric', 'eq'),
  NumericNotEquals: op('Numeric', 'eq', true),
  NumericLessThan: op('Numeric', 'lt'),
  NumericLessThanEquals: op('Numeric', 'le'),
  NumericGreaterThan: op('Numeric', 'gt'),
  NumericGreaterThanEquals: op('Numeric', 'ge'),
  DateEquals: op('Date', 'eq'),
  DateNotEquals: op('Date', 'eq', true),
  DateLessThan: op('Date', 'lt'),
  DateLessThanEquals: op('Date', 'le'),
  DateGreaterThan: op('Date', 'gt'),
  DateGreaterThanEquals: op('Date', 'ge'),
  Bool: op('Bool', 'eq'),
  BinaryEquals: op('Binary', 'eq'),
  IpAddress: op('Ip', 'eq'),
  NotIpAddress: op('Ip', 'eq', true),
  // ArnEquals and ArnLike behave the same, as do their negations (IAM User Guide, "ARN
  // condition operators").
  ArnEquals: op('Arn', 'arn'),
  ArnLike: op('Arn', 'arn'),
  ArnNotEquals: op('Arn', 'arn', true),
  ArnNotLike: op('Arn', 'arn', true),
  Null: op('Null', 'eq'),
}

/** A policy value, compiled for its operator family. */
type CompiledValue =
  | { readonly kind: 'template'; readonly template: Template }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'bytes'; readonly value: Buffer }
  | { readonly kind: 'cidr'; readonly value: Cidr }
  | { readonly kind: 'bool'; readonly value: boolean }

/** One `operator → key → values` test of a statement. */
export interface CompiledCondition {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string
  /** The condition key, lower-cased (condition key names are case-insensitive). */
  readonly key: string
  readonly base: BaseOperator
  readonly set: 'any' | 'all' | undefined
  readonly ifExists: boolean
  readonly values: readonly CompiledValue[]
}

/**
 * The condition keys of one request: lower-cased name → its values (one for single-valued
 * keys). A key that is absent is not in the map.
 */
export type ConditionValues = ReadonlyMap<string, readonly string[]>

const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/
// W3C profile of ISO 8601 (https://www.w3.org/TR/NOTE-datetime); a time needs a zone.
const W3C_DATE =
  /^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?)?)?$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Milliseconds since the epoch for an IAM date value: epoch seconds, or the W3C profile of ISO
 * 8601. A value of digits only is read as epoch seconds, never as a year.
 */
export function parseDate(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) * 1000
  if (!W3C_DATE.test(text)) return undefined
  const ms = Date.parse(
    text.length <= 10
      ? `${text}${text.length === 4 ? '-01-01' : text.length === 7 ? '-01' : ''}T00:00:00Z`
      : text,
  )
  return Number.isNaN(ms) ? undefined : ms
}

const parseNumber = (text: string): number | undefined =>
  NUMERIC.test(text) ? Number(text) : undefined

const parseBool = (text: string): boolean | undefined =>
  text.toLowerCase() === 'true' ? true : text.toLowerCase() === 'false' ? false : undefined

/** Options of the condition compiler. */
export interface ConditionCompileOptions {
  /** Version 2012-10-17: policy variables are recognised. */
  readonly variables: boolean
  /** Statement number (1-based), for messages. */
  readonly statement: number
}

/**
 * Compiles a statement's Condition element.
 *
 * @throws PolicyDocumentError for an unknown operator, a malformed value or shape
 * @example
 *   compileConditions({ StringEquals: { 'kms:CallerAccount': '111122223333' } }, { variables: true, statement: 1 })
 */
export function compileConditions(
  element: JsonValue,
  options: ConditionCompileOptions,
): CompiledCondition[] {
  const fail = (why: string): never => {
    throw new PolicyDocumentError(POLICY_MESSAGES.statement(options.statement, why))
  }
  if (!isObject(element)) return fail('Condition must be a JSON object.')
  const out: CompiledCondition[] = []
  for (const [operator, block] of Object.entries(element)) {
    const parsed = parseOperator(operator)
    if (!parsed) return fail(`unknown condition operator '${operator}'.`)
    if (!isObject(block) || Object.keys(block).length === 0) {
      return fail(`the ${operator} condition must map condition keys to values.`)
    }
    for (const [key, raw] of Object.entries(block)) {
      if (!/^[A-Za-z0-9]+:\S+$/.test(key)) return fail(`invalid condition key '${key}'.`)
      const list = Array.isArray(raw) ? raw : [raw]
      if (list.length === 0) return fail(`the condition key '${key}' has no value.`)
      const values = list.map((v) => {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          return fail(`the values of condition key '${key}' must be strings.`)
        }
        return (
          compileValue(parsed.base, String(v), options) ??
          fail(`invalid value '${String(v)}' for the ${operator} condition on '${key}'.`)
        )
      })
      out.push({ operator, key: key.toLowerCase(), ...parsed, values })
    }
  }
  return out
}

function isObject(v: JsonValue | undefined): v is { [k: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Splits `ForAnyValue:StringLikeIfExists` into its parts; undefined when not an operator. */
function parseOperator(
  name: string,
): Pick<CompiledCondition, 'base' | 'set' | 'ifExists'> | undefined {
  let rest = name
  let set: 'any' | 'all' | undefined
  if (rest.startsWith('ForAnyValue:')) set = 'any'
  else if (rest.startsWith('ForAllValues:')) set = 'all'
  if (set) rest = rest.slice(rest.indexOf(':') + 1)
  const ifExists = rest.endsWith('IfExists')
  if (ifExists) rest = rest.slice(0, -'IfExists'.length)
  const base = Object.hasOwn(OPERATORS, rest) ? OPERATORS[rest] : undefined
  if (!base) return undefined
  // Null tests presence itself; "IfExists" and set operators have no meaning on it.
  if (base.family === 'Null' && (ifExists || set)) return undefined
  return { base, set, ifExists }
}

function compileValue(
  base: BaseOperator,
  text: string,
  options: ConditionCompileOptions,
): CompiledValue | undefined {
  switch (base.family) {
    case 'String':
    case 'Arn':
      // Variables are allowed in String and ARN operator values only (IAM User Guide, "Where
      // you can use policy variables").
      return { kind: 'template', template: parseTemplate(text, { variables: options.variables }) }
    case 'Numeric': {
      const value = parseNumber(text)
      return value === undefined ? undefined : { kind: 'number', value }
    }
    case 'Date': {
      const value = parseDate(text)
      return value === undefined ? undefined : { kind: 'number', value }
    }
    case 'Bool':
    case 'Null': {
      const value = parseBool(text)
      return value === undefined ? undefined : { kind: 'bool', value }
    }
    case 'Binary':
      return BASE64.test(text) && text.length > 0
        ? { kind: 'bytes', value: Buffer.from(text, 'base64') }
        : undefined
    case 'Ip': {
      const value = parseCidr(text)
      return value === undefined ? undefined : { kind: 'cidr', value }
    }
  }
}

/** What evaluation needs besides the values: variable lookup and a work counter. */
export interface ConditionEvalOptions {
  readonly counter?: WorkCounter
}

/** The single value of a key, for policy variables (multi-valued keys resolve to nothing). */
export const resolverOf =
  (values: ConditionValues) =>
  (lowerKey: string): string | undefined => {
    const v = values.get(lowerKey)
    return v && v.length === 1 ? v[0] : undefined
  }

/**
 * True when every condition holds for the request.
 *
 * @example
 *   conditionsHold(statement.conditions, new Map([['kms:calleraccount', ['111122223333']]]))
 */
export function conditionsHold(
  conditions: readonly CompiledCondition[],
  values: ConditionValues,
  options: ConditionEvalOptions = {},
): boolean {
  for (const c of conditions) if (!conditionHolds(c, values, options)) return false
  return true
}

function conditionHolds(
  c: CompiledCondition,
  values: ConditionValues,
  options: ConditionEvalOptions,
): boolean {
  const present = values.get(c.key)
  if (c.base.family === 'Null') {
    const absent = present === undefined || present.length === 0
    return c.values.some((v) => v.kind === 'bool' && v.value === absent)
  }
  if (present === undefined || present.length === 0) {
    if (c.ifExists) return true
    if (c.set === 'all') return true
    if (c.set === 'any') return false
    return c.base.negated
  }
  const one = (requestValue: string) => {
    const hit = c.values.some((v) => matchOne(c.base, v, requestValue, { values, options }))
    return c.base.negated ? !hit : hit
  }
  if (c.set === 'all') return present.every(one)
  if (c.set === 'any') return present.some(one)
  // Without a set operator a multi-valued request key behaves as "any value"; a negated
  // operator then needs every value to miss, i.e. the negation of the positive test.
  return c.base.negated ? present.every(one) : present.some(one)
}

function matchOne(
  base: BaseOperator,
  v: CompiledValue,
  request: string,
  ctx: { values: ConditionValues; options: ConditionEvalOptions },
): boolean {
  switch (v.kind) {
    case 'template':
      return matchTemplate(base, v.template, request, ctx)
    case 'number': {
      const r = base.family === 'Date' ? parseDate(request) : parseNumber(request)
      if (r === undefined) return false
      return compareNumbers(base.compare, r, v.value)
    }
    case 'bool':
      return parseBool(request) === v.value
    case 'bytes':
      return BASE64.test(request) && Buffer.from(request, 'base64').equals(v.value)
    case 'cidr':
      return cidrContains(v.value, request)
  }
}

function compareNumbers(compare: BaseOperator['compare'], r: number, p: number): boolean {
  switch (compare) {
    case 'lt':
      return r < p
    case 'le':
      return r <= p
    case 'gt':
      return r > p
    case 'ge':
      return r >= p
    default:
      return r === p
  }
}

function matchTemplate(
  base: BaseOperator,
  template: Template,
  request: string,
  ctx: { values: ConditionValues; options: ConditionEvalOptions },
): boolean {
  const resolve = resolverOf(ctx.values)
  if (base.compare === 'like') {
    const glob = templateGlob(template, resolve)
    return glob !== undefined && globMatch(glob, request, { counter: ctx.options.counter })
  }
  if (base.compare === 'arn') return arnLike(template, request, ctx)
  const text = renderTemplate(template, resolve)
  if (text === undefined) return false
  return base.compare === 'eqi' ? text.toLowerCase() === request.toLowerCase() : text === request
}

/**
 * ArnLike: the ARN is compared segment by segment (split at every colon), with `*` and `?`
 * inside a segment only; a value with a different number of segments never matches (IAM User
 * Guide, "Amazon Resource Name (ARN) condition operators").
 */
function arnLike(
  template: Template,
  request: string,
  ctx: { values: ConditionValues; options: ConditionEvalOptions },
): boolean {
  const glob = templateGlob(template, resolverOf(ctx.values))
  if (glob === undefined) return false
  return segmentsMatch(glob, request, { counter: ctx.options.counter, all: true })
}

/**
 * Matches an ARN pattern against an ARN segment by segment. With `all`, every colon separates
 * segments (ArnLike); otherwise only the first five do and the resource part may hold colons
 * (the Resource element).
 */
export function segmentsMatch(
  glob: Int32Array,
  arn: string,
  options: { counter?: WorkCounter; all: boolean },
): boolean {
  const COLON = 0x3a
  const patternSegments: Int32Array[] = []
  let start = 0
  for (let i = 0; i <= glob.length; i++) {
    if (i === glob.length || (glob[i] === COLON && (options.all || patternSegments.length < 5))) {
      patternSegments.push(glob.subarray(start, i))
      start = i + 1
    }
  }
  const textSegments = options.all ? arn.split(':') : splitFirst(arn, 5)
  if (patternSegments.length !== textSegments.length) return false
  return patternSegments.every((p, i) =>
    globMatch(p, textSegments[i]!, { counter: options.counter }),
  )
}

function splitFirst(text: string, colons: number): string[] {
  const out: string[] = []
  let start = 0
  for (let n = 0; n < colons; n++) {
    const at = text.indexOf(':', start)
    if (at < 0) break
    out.push(text.slice(start, at))
    start = at + 1
  }
  out.push(text.slice(start))
  return out
}
