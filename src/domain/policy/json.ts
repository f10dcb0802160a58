/**
 * A strict JSON reader for policy documents (RFC 8259). `JSON.parse` is not enough here: it
 * silently keeps the last of two equal member names, and IAM's grammar forbids repeated keys
 * (IAM User Guide, "Grammar of the IAM JSON policy language": "no repeated key"); a policy with
 * two `Effect` members must not be read one way by us and another way by the author. It also
 * bounds nesting depth, so hostile input cannot exhaust the stack of later walks.
 */
import { POLICY_MESSAGES, PolicyDocumentError } from './errors.js'

/** A JSON value as read; objects have no prototype, so `__proto__` is an ordinary name. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject
/** A JSON object with a null prototype. */
export interface JsonObject {
  [name: string]: JsonValue
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d])
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
}

/**
 * Parses `text` as JSON, rejecting repeated member names and nesting deeper than `maxDepth`.
 * Iterative, so its time is linear in the length of `text` and its stack use constant.
 *
 * @throws PolicyDocumentError with AWS's MalformedPolicyDocumentException
 * @example
 *   readJson('{"Version":"2012-10-17"}', { maxDepth: 10 })
 */
export function readJson(text: string, options: { maxDepth: number }): JsonValue {
  let at = 0
  const fail = (message: string = POLICY_MESSAGES.notJson): never => {
    throw new PolicyDocumentError(message)
  }
  const skip = () => {
    while (at < text.length && WS.has(text.charCodeAt(at))) at++
  }
  const readString = (): string => {
    at++ // opening quote
    let out = ''
    let start = at
    for (;;) {
      if (at >= text.length) return fail()
      const c = text.charCodeAt(at)
      if (c === 0x22) {
        out += text.slice(start, at++)
        return out
      }
      if (c < 0x20) return fail()
      if (c === 0x5c) {
        out += text.slice(start, at)
        const e = text[at + 1]
        if (e === 'u') {
          const hex = text.slice(at + 2, at + 6)
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) return fail()
          out += String.fromCharCode(parseInt(hex, 16))
          at += 6
        } else if (e !== undefined && e in ESCAPES) {
          out += ESCAPES[e]
          at += 2
        } else {
          return fail()
        }
        start = at
      } else {
        at++
      }
    }
  }
  const readScalar = (): JsonValue => {
    const c = text[at]
    if (c === '"') return readString()
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length
        return value
      }
    }
    NUMBER.lastIndex = at
    const m = NUMBER.exec(text)
    if (!m) return fail()
    at += m[0].length
    return Number(m[0])
  }

  // Containers under construction, innermost last; `name` is the pending member of an object.
  type Frame = { value: JsonValue[] } | { value: JsonObject; name?: string }
  const stack: Frame[] = []
  let root: JsonValue | undefined
  const place = (value: JsonValue) => {
    const top = stack[stack.length - 1]
    if (!top) root = value
    else if (Array.isArray(top.value)) top.value.push(value)
    else {
      const frame = top as { value: JsonObject; name?: string }
      frame.value[frame.name!] = value
      frame.name = undefined
    }
  }
  const open = (value: JsonValue[] | JsonObject) => {
    if (stack.length >= options.maxDepth) fail(POLICY_MESSAGES.tooDeep)
    place(value)
    stack.push({ value } as Frame)
  }

  skip()
  for (;;) {
    const top = stack[stack.length - 1]
    // Expect a value here (at the root, in an array, or after a member name).
    const expectValue = () => {
      skip()
      const c = text[at]
      if (c === '{') {
        at++
        open(Object.create(null) as JsonObject)
      } else if (c === '[') {
        at++
        open([])
      } else if (c === undefined) {
        fail()
      } else {
        place(readScalar())
      }
    }
    if (!top) {
      if (root !== undefined) break
      expectValue()
      continue
    }
    skip()
    if (Array.isArray(top.value)) {
      const arr = top.value
      if (text[at] === ']') {
        at++
        stack.pop()
        continue
      }
      if (arr.length > 0) {
        if (text[at] !== ',') fail()
        at++
      }
      expectValue()
      continue
    }
    const obj = top.value
    if (text[at] === '}') {
      at++
      stack.pop()
      continue
    }
    if (Object.keys(obj).length > 0) {
      if (text[at] !== ',') fail()
      at++
      skip()
    }
    if (text[at] !== '"') fail()
    const name = readString()
    if (Object.prototype.hasOwnProperty.call(obj, name)) fail(POLICY_MESSAGES.duplicateMember(name))
    skip()
    if (text[at] !== ':') fail()
    at++
    // Reserve the member so that a repeat is caught even before its value is complete.
    obj[name] = null
    ;(top as { name?: string }).name = name
    expectValue()
  }
  skip()
  if (at !== text.length) fail()
  return root!
}

/**
 * Copies an already-parsed value (a policy given as an object) into the same shape `readJson`
 * produces, refusing nesting deeper than `maxDepth` and anything that is not JSON data.
 *
 * @example
 *   copyJson({ Version: '2012-10-17', Statement: [] }, { maxDepth: 10 })
 */
export function copyJson(value: unknown, options: { maxDepth: number }, depth = 0): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new PolicyDocumentError(POLICY_MESSAGES.notJson)
    return value
  }
  if (typeof value !== 'object') throw new PolicyDocumentError(POLICY_MESSAGES.notJson)
  if (depth >= options.maxDepth) throw new PolicyDocumentError(POLICY_MESSAGES.tooDeep)
  if (Array.isArray(value)) return value.map((v) => copyJson(v, options, depth + 1))
  const out = Object.create(null) as JsonObject
  for (const [k, v] of Object.entries(value)) out[k] = copyJson(v, options, depth + 1)
  return out
}
