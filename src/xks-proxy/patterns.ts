/**
 * Wildcard patterns of the proxy's configuration (key allow-lists, authorization rules): `*`
 * matches any run of characters, `?` one character, everything else itself, case-sensitively,
 * as IAM's StringLike condition operator does.
 */

const compiled = new Map<string, RegExp>()

function toRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern)
  if (!re) {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('')
    re = new RegExp(`^${body}$`, 's')
    compiled.set(pattern, re)
  }
  return re
}

/**
 * Whether `value` matches one of `patterns`.
 *
 * @example
 *   matchesAny(['arn:aws:iam::111122223333:*'], 'arn:aws:iam::111122223333:role/App') // true
 */
export function matchesAny(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) => toRegExp(p).test(value))
}
