import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { SerializationException, ValidationException } from '../domain/errors/exceptions.js'
import { INPUT_SCHEMAS, OPERATION_NAMES, type KmsOperationName } from './generated/model.js'
import { awsEnumOrder } from './enum-order.js'

/**
 * Validation of request bodies against the model's constraints, with AWS's own message text:
 *
 *   1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy constraint:
 *   Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT]
 *
 * Ajv compiles the generated JSON Schemas (src/wire/generated/model.ts); the `kms*` keywords
 * carry what JSON Schema does not say: the camelCase wire name, Java-anchored patterns, blob
 * lengths counted in decoded bytes, sensitivity (the value is then left out of the message, as
 * AWS does for `plaintext`). Wrong JSON types are a SerializationException, as in AWS's
 * JSON 1.1 deserializer, not a ValidationException.
 */

interface Schema {
  kmsName?: string
  kmsSensitive?: boolean
  kmsBlob?: { min: number; max: number | null }
  kmsTimestamp?: boolean
  kmsEnum?: string[]
  kmsPattern?: { source: string; shown: string }
  type?: string
  items?: Schema
  properties?: Record<string, Schema>
}

/**
 * Standard base64 with padding (RFC 4648, section 4): whole 4-character groups, at most two
 * '=' and only at the end. Said as a length check plus one character class, which V8 runs as a
 * tight loop: twice as fast on a 4 KiB Plaintext as the equivalent grouped pattern
 * /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, and the same strings.
 */
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/
const isBase64 = (s: string) => s.length % 4 === 0 && BASE64_CHARS.test(s)

/** Decoded length of a well-formed standard base64 string, without decoding it. */
const base64Length = (s: string) =>
  (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0)

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, unicodeRegExp: false })
  for (const keyword of ['kmsName', 'kmsSensitive', 'kmsTimestamp']) ajv.addKeyword({ keyword })
  ajv.addKeyword({
    keyword: 'kmsEnum',
    type: 'string',
    schemaType: 'array',
    validate: (allowed: string[], data: string) => allowed.includes(data),
  })
  ajv.addKeyword({
    keyword: 'kmsPattern',
    type: 'string',
    schemaType: 'object',
    compile: (schema: { source: string }) => {
      const re = new RegExp(schema.source)
      return (data: string) => re.test(data)
    },
  })
  ajv.addKeyword({
    keyword: 'kmsBlob',
    type: 'string',
    schemaType: 'object',
    errors: true,
    compile: (schema: { min: number; max: number | null }) => {
      const check = (data: string): boolean => {
        const reason = !isBase64(data)
          ? 'base64'
          : base64Length(data) < schema.min
            ? 'min'
            : schema.max !== null && base64Length(data) > schema.max
              ? 'max'
              : null
        check.errors = reason ? [{ keyword: 'kmsBlob', params: { reason } }] : []
        return reason === null
      }
      check.errors = [] as Partial<ErrorObject>[]
      return check
    },
  })
  return ajv
}

let ajv: Ajv | undefined
const validators = new Map<KmsOperationName, ValidateFunction>()

/**
 * The compiled validator of `op`, compiled on first use. Compiling all 54 schemas takes about
 * half a second, so it is not done before the server can answer (see warmUpValidators).
 */
function validatorFor(op: KmsOperationName): ValidateFunction {
  let validate = validators.get(op)
  if (!validate) {
    ajv ??= createAjv()
    validate = ajv.compile(INPUT_SCHEMAS[op])
    validators.set(op, validate)
  }
  return validate
}

/**
 * Compiles every operation's validator now.
 *
 * @example
 *   compileValidators() // then no request pays for a compilation
 */
export function compileValidators(): void {
  for (const op of OPERATION_NAMES) validatorFor(op)
}

/**
 * Compiles the validators not compiled yet, one per turn of the event loop, so that a started
 * server answers at once and its first request of each operation is not slowed down later.
 * Stops early when `signal` aborts (the server is closing).
 *
 * @example
 *   const stop = new AbortController()
 *   void warmUpValidators(stop.signal)
 */
export async function warmUpValidators(signal?: AbortSignal): Promise<void> {
  for (const op of OPERATION_NAMES) {
    if (signal?.aborted) return
    await new Promise<void>((resolve) => setImmediate(resolve))
    validatorFor(op)
  }
}

/** Java's List#toString, which AWS uses to show list values. */
const showValue = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map(showValue).join(', ')}]` : String(v)

/** The schema of the member at an Ajv instance path ('/Tags/0/TagKey'). */
function schemaAt(root: Schema, instancePath: string): Schema | undefined {
  let node: Schema | undefined = root
  for (const segment of instancePath.split('/').slice(1)) {
    node = /^\d+$/.test(segment) ? node?.items : node?.properties?.[segment]
  }
  return node
}

/** 'Tags/0/TagKey' → 'tags.1.member.tagKey', the member path AWS prints. */
function memberPath(instancePath: string, schema: Schema): string {
  const parts: string[] = []
  let node: Schema | undefined = schema
  for (const segment of instancePath.split('/').slice(1)) {
    if (/^\d+$/.test(segment)) {
      parts.push(String(Number(segment) + 1))
      node = node?.items
      if (node?.kmsName) parts.push(node.kmsName)
    } else {
      node = node?.properties?.[segment]
      parts.push(node?.kmsName ?? segment)
    }
  }
  return parts.join('.')
}

function constraintText(e: ErrorObject, schema: Schema | undefined): string {
  const p = e.params as Record<string, number | string>
  switch (e.keyword) {
    case 'required':
      return 'Member must not be null'
    case 'minLength':
    case 'minItems':
      return `Member must have length greater than or equal to ${p.limit}`
    case 'maxLength':
    case 'maxItems':
      return `Member must have length less than or equal to ${p.limit}`
    case 'minimum':
      return `Member must have value greater than or equal to ${p.limit}`
    case 'maximum':
      return `Member must have value less than or equal to ${p.limit}`
    case 'kmsEnum':
      return `Member must satisfy enum value set: [${awsEnumOrder(schema?.kmsName ?? '', schema?.kmsEnum ?? []).join(', ')}]`
    case 'kmsPattern':
      return `Member must satisfy regular expression pattern: ${schema?.kmsPattern?.shown}`
    case 'kmsBlob':
      return p.reason === 'min'
        ? `Member must have length greater than or equal to ${schema?.kmsBlob?.min}`
        : `Member must have length less than or equal to ${schema?.kmsBlob?.max}`
    default:
      return `Member must satisfy constraint ${e.keyword}`
  }
}

/** One line of the AWS message for one Ajv error. */
function describe(e: ErrorObject, root: Schema, data: unknown): string {
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty: string }).missingProperty)
    const path = memberPath(`${e.instancePath}/${missing}`, root)
    return `Value null at '${path}' failed to satisfy constraint: Member must not be null`
  }
  const schema = schemaAt(root, e.instancePath)
  // A constraint on a list's string member is reported on the list, the way AWS's
  // validator nests it: "Member must satisfy constraint: [Member must ...]".
  const itemOfStringList = /\/\d+$/.test(e.instancePath) && schema?.type === 'string'
  if (itemOfStringList) {
    const listPath = e.instancePath.replace(/\/\d+$/, '')
    const list = listPath
      .split('/')
      .slice(1)
      .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], data)
    return `Value '${showValue(list)}' at '${memberPath(listPath, root)}' failed to satisfy constraint: Member must satisfy constraint: [${constraintText(e, schema)}]`
  }
  const hidden = schema?.kmsSensitive || schema?.kmsBlob
  const value = hidden ? 'Value' : `Value '${showValue(e.data)}'`
  return `${value} at '${memberPath(e.instancePath, root)}' failed to satisfy constraint: ${constraintText(e, schema)}`
}

/**
 * Removes JSON nulls (AWS treats them as absent) and refuses `__proto__`, the one member name
 * whose assignment would change an object's prototype (fastify's onProtoPoisoning: 'error').
 * `constructor` and `prototype` are ordinary names here (we never merge input into live
 * objects) and are legitimate encryption-context keys, which AWS accepts.
 */
function clean(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    const list: unknown[] = []
    for (const v of value) if (v !== null) list.push(clean(v))
    return list
  }
  // Object.keys and indexed reads: no [key, value] array per member, as Object.entries makes.
  const record = value as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(record)) {
    if (k === '__proto__') {
      throw new SerializationException(`Member name '${k}' is not allowed.`)
    }
    const v = record[k]
    if (v !== null) out[k] = clean(v)
  }
  return out
}

/**
 * Blobs become Buffers and timestamps Dates, walking the schema; then everything is frozen.
 * `value` must be the fresh copy {@link clean} made: it is decoded in place rather than copied
 * a second time, and nothing else holds it.
 */
function decodeInPlace(value: unknown, schema: Schema | undefined): unknown {
  if (schema?.kmsBlob && typeof value === 'string') return Buffer.from(value, 'base64')
  if (schema?.kmsTimestamp && typeof value === 'number') return new Date(value * 1000)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decodeInPlace(value[i], schema?.items)
    return Object.freeze(value)
  }
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>
    for (const k of Object.keys(record)) {
      record[k] = decodeInPlace(record[k], schema?.properties?.[k])
    }
    return Object.freeze(record)
  }
  return value
}

/**
 * Validates a parsed request body for `op` and returns the handler's input: a fresh, frozen
 * copy with blobs decoded, so nothing the caller sent can change under an `await`.
 *
 * @throws SerializationException for a body that is not an object or has wrongly typed members
 * @throws ValidationException with AWS's message text for every broken constraint
 * @example
 *   const input = validateInput('Encrypt', JSON.parse(body)) // input.Plaintext is a Buffer
 */
export function validateInput(op: KmsOperationName, body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SerializationException('Start of structure or map found where not expected.')
  }
  const data = clean(body)
  const validate = validatorFor(op)
  const root = INPUT_SCHEMAS[op] as Schema
  if (!validate(data)) {
    const errors = validate.errors ?? []
    const wrongType = errors.find(
      (e) => e.keyword === 'type' || (e.keyword === 'kmsBlob' && e.params.reason === 'base64'),
    )
    if (wrongType) {
      const where = memberPath(wrongType.instancePath, root)
      throw new SerializationException(`Value at '${where}' cannot be read as the member's type.`)
    }
    const lines = errors.map((e) => describe(e, root, data))
    const count = `${lines.length} validation error${lines.length === 1 ? '' : 's'} detected`
    throw new ValidationException(`${count}: ${lines.join('; ')}`)
  }
  return decodeInPlace(data, root)
}
