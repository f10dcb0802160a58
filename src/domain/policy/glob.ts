/**
 * Wildcard matching for policy elements (`*` = any run, `?` = exactly one character; IAM User
 * Guide, "IAM JSON policy elements: Condition operators", StringLike).
 *
 * Deliberately not a regular expression: a policy is untrusted input, and a backtracking regex
 * built from `*?*?*?…` can take exponential time. This is the iterative two-pointer matcher that
 * remembers only the last `*`, so its work is bounded by (text length + 1) × (pattern length + 1)
 * whatever the pattern.
 */

/** A `*` in a compiled pattern. */
export const STAR = -1
/** A `?` in a compiled pattern. */
export const ANY = -2

/**
 * A compiled pattern: code points, with {@link STAR} and {@link ANY} for the wildcards. Runs of
 * `*` are collapsed into one at compile time.
 */
export type Glob = Int32Array

/** A part of a pattern: literal text, or a wildcard. */
export type GlobPart = string | typeof STAR | typeof ANY

/** Counts the steps the matcher takes, so tests can assert a bound instead of wall time. */
export interface WorkCounter {
  steps: number
}

/**
 * Compiles literal parts and wildcards into a {@link Glob}; literal text never acts as a
 * wildcard (that is how `${*}` stays a literal star).
 *
 * @example
 *   compileGlobParts(['alias/', STAR]) // matches alias/anything
 */
export function compileGlobParts(
  parts: readonly GlobPart[],
  options: { ignoreCase?: boolean } = {},
): Glob {
  const out: number[] = []
  for (const part of parts) {
    if (part === STAR) {
      if (out[out.length - 1] !== STAR) out.push(STAR)
    } else if (part === ANY) {
      out.push(ANY)
    } else {
      for (const ch of options.ignoreCase ? part.toLowerCase() : part) out.push(ch.codePointAt(0)!)
    }
  }
  return Int32Array.from(out)
}

/**
 * Compiles a pattern string in which every `*` and `?` is a wildcard.
 *
 * @example
 *   globMatch(compileGlob('kms:Create*', { ignoreCase: true }), 'kms:createkey', { ignoreCase: true }) // true
 */
export function compileGlob(pattern: string, options: { ignoreCase?: boolean } = {}): Glob {
  const parts: GlobPart[] = []
  let literal = ''
  for (const ch of pattern) {
    if (ch === '*' || ch === '?') {
      if (literal) parts.push(literal)
      literal = ''
      parts.push(ch === '*' ? STAR : ANY)
    } else {
      literal += ch
    }
  }
  if (literal) parts.push(literal)
  return compileGlobParts(parts, options)
}

/** The text of the last {@link codePoints} call and its result (never mutated by callers). */
let lastText: string | undefined
let lastIgnoreCase = false
let lastPoints: readonly number[] = []

/**
 * Code points of `text`, lower-cased when asked. One decision matches the same action name
 * against every Action pattern of every statement, so the last text's code points are kept:
 * converting it again for each pattern was most of an evaluation's garbage.
 */
function codePoints(text: string, ignoreCase: boolean): readonly number[] {
  if (text === lastText && ignoreCase === lastIgnoreCase) return lastPoints
  const out: number[] = []
  for (const ch of ignoreCase ? text.toLowerCase() : text) out.push(ch.codePointAt(0)!)
  lastText = text
  lastIgnoreCase = ignoreCase
  lastPoints = out
  return out
}

/**
 * True when `text` matches the whole of `glob`. `?` matches one code point.
 *
 * @example
 *   globMatch(compileGlob('a*c'), 'abbc') // true
 */
export function globMatch(
  glob: Glob,
  text: string,
  options: { ignoreCase?: boolean; counter?: WorkCounter } = {},
): boolean {
  const t = codePoints(text, options.ignoreCase === true)
  let p = 0
  let i = 0
  let starAt = -1
  let resumeAt = 0
  let steps = 0
  while (i < t.length) {
    steps++
    const c = glob[p]
    if (p < glob.length && (c === ANY || c === t[i])) {
      p++
      i++
    } else if (p < glob.length && c === STAR) {
      // Remember the star; first try to let it match nothing.
      starAt = p++
      resumeAt = i
    } else if (starAt >= 0) {
      // Let the last star swallow one more character. Earlier stars never need revisiting:
      // anything they could absorb, the last star can absorb too.
      p = starAt + 1
      i = ++resumeAt
    } else {
      if (options.counter) options.counter.steps += steps
      return false
    }
  }
  while (p < glob.length && glob[p] === STAR) p++
  if (options.counter) options.counter.steps += steps
  return p === glob.length
}

/** True when `glob` has no wildcard, so an equality test would do. */
export const isLiteralGlob = (glob: Glob): boolean => !glob.some((c) => c === STAR || c === ANY)
