/**
 * Policy variables (IAM User Guide, "IAM policy elements: Variables and tags"): `${key}` is
 * replaced by the request's value of a single-valued condition key, `${key, 'default'}` gives a
 * default, and `${*}`, `${?}`, `${$}` are the literal characters. Only with Version 2012-10-17;
 * in older documents the text is literal. A variable whose key is missing (and has no default)
 * cannot be resolved: positive operators then do not match and negated ones do, and a Resource
 * holding it matches nothing.
 */
import { ANY, compileGlobParts, STAR, type Glob, type GlobPart } from './glob.js'

/** A piece of a string that may hold variables. */
export type TemplatePart =
  /** `literal`: from `${*}`, `${?}` or `${$}`, so never a wildcard. */
  | { readonly text: string; readonly literal?: boolean }
  | { readonly variable: string; readonly fallback?: string }

/** A string split into literal text and variables; `hasVariables` false when it has none. */
export interface Template {
  readonly parts: readonly TemplatePart[]
  readonly hasVariables: boolean
}

const VARIABLE = /\$\{([^}]*)\}/g
const KEY = /^([A-Za-z0-9]+:[A-Za-z0-9_.:/+=@-]+?)\s*(?:,\s*'([^']*)')?\s*$/

/**
 * Splits `value` into literal text and variables. Text like `${` that is not a well-formed
 * variable stays literal, as IAM leaves it.
 *
 * @example
 *   parseTemplate('alias/${aws:username}', { variables: true })
 */
export function parseTemplate(value: string, options: { variables: boolean }): Template {
  if (!options.variables || !value.includes('${')) {
    return { parts: [{ text: value }], hasVariables: false }
  }
  const parts: TemplatePart[] = []
  let last = 0
  let hasVariables = false
  for (const m of value.matchAll(VARIABLE)) {
    const inner = m[1]!
    const literal = inner === '*' || inner === '?' || inner === '$' ? inner : undefined
    const key = literal === undefined ? KEY.exec(inner) : null
    if (literal === undefined && !key) continue
    if (m.index > last) parts.push({ text: value.slice(last, m.index) })
    if (literal !== undefined) parts.push({ text: literal, literal: true })
    else {
      hasVariables = true
      parts.push(
        key![2] === undefined
          ? { variable: key![1]!.toLowerCase() }
          : { variable: key![1]!.toLowerCase(), fallback: key![2] },
      )
    }
    last = m.index + m[0].length
  }
  if (last < value.length) parts.push({ text: value.slice(last) })
  return { parts, hasVariables }
}

/** Looks up the single value of a condition key by lower-cased name; undefined when absent. */
export type Resolve = (lowerKey: string) => string | undefined

/**
 * The template's text with its variables replaced; undefined when one cannot be resolved.
 *
 * @example
 *   renderTemplate(t, (k) => (k === 'aws:username' ? 'alice' : undefined))
 */
export function renderTemplate(template: Template, resolve: Resolve): string | undefined {
  let out = ''
  for (const part of template.parts) {
    if ('text' in part) out += part.text
    else {
      const value = resolve(part.variable) ?? part.fallback
      if (value === undefined) return undefined
      out += value
    }
  }
  return out
}

/**
 * Compiles a template into a wildcard pattern: `*` and `?` in the policy's own text are
 * wildcards; the characters of `${*}`, `${?}` and of substituted values are literal.
 *
 * @example
 *   templateGlob(parseTemplate('a${*}*', { variables: true }), () => undefined)
 */
export function templateGlob(
  template: Template,
  resolve: Resolve,
  options: { ignoreCase?: boolean } = {},
): Glob | undefined {
  const parts: GlobPart[] = []
  for (const part of template.parts) {
    if ('variable' in part) {
      const value = resolve(part.variable) ?? part.fallback
      if (value === undefined) return undefined
      parts.push(value)
    } else if (part.literal) {
      parts.push(part.text)
    } else {
      let literal = ''
      for (const ch of part.text) {
        if (ch === '*' || ch === '?') {
          if (literal) parts.push(literal)
          literal = ''
          parts.push(ch === '*' ? STAR : ANY)
        } else literal += ch
      }
      if (literal) parts.push(literal)
    }
  }
  return compileGlobParts(parts, options)
}
