import { InvalidMarkerException, ValidationException } from '../../domain/errors/exceptions.js'
import type { Page, PageRequest } from '../../ports/key-store.js'

/**
 * The Limit range each List* operation enforces. The model allows 1–1000 everywhere; the
 * service is stricter for some (API Reference, each operation's `Limit`: "This value is
 * optional. If you include a value, it must be between 1 and 100, inclusive. If you do not
 * include a value, it defaults to 50."). This table is the one place that rule is written.
 */
export const PAGE_LIMITS = {
  ListAliases: { max: 100, default: 50 },
  ListGrants: { max: 100, default: 50 },
  ListRetirableGrants: { max: 100, default: 50 },
  ListResourceTags: { max: 50, default: 50 },
  ListKeys: { max: 1000, default: 100 },
  ListKeyPolicies: { max: 1000, default: 100 },
  ListKeyRotations: { max: 1000, default: 100 },
  // API Reference, DescribeCustomKeyStores Limit: 1–1000; no default is documented, so the
  // whole of the 10 stores an account may have fits one page.
  DescribeCustomKeyStores: { max: 1000, default: 100 },
} as const

/** An operation that pages its results with Limit/Marker → NextMarker/Truncated. */
export type PaginatedOperation = keyof typeof PAGE_LIMITS

/** The pagination members of a List* request. */
export interface PaginationInput {
  readonly Limit?: number
  readonly Marker?: string
}

/** The pagination members of a List* response: NextMarker only when Truncated. */
export interface PageOutput<T> {
  readonly items: readonly T[]
  readonly Truncated: boolean
  readonly NextMarker?: string
}

const BASE64URL = /^[A-Za-z0-9_-]+$/

/**
 * A marker is opaque to the caller: base64url of `[operation, last sort key]`. Binding it to
 * the operation means a ListKeys marker cannot steer a ListAliases listing.
 */
function encodeMarker(op: PaginatedOperation, after: string): string {
  return Buffer.from(JSON.stringify([op, after]), 'utf8').toString('base64url')
}

/** The sort key a marker resumes after; InvalidMarkerException unless Keyward issued it. */
function decodeMarker(op: PaginatedOperation, marker: string): string {
  const invalid = () =>
    new InvalidMarkerException(
      'The request was rejected because the marker that specifies where pagination should next begin is not valid.',
    )
  // Buffer's base64url decoder skips characters it does not know, so check the alphabet and
  // that the marker is the canonical encoding of what it decodes to.
  if (!BASE64URL.test(marker)) throw invalid()
  const bytes = Buffer.from(marker, 'base64url')
  if (bytes.toString('base64url') !== marker) throw invalid()
  let decoded: unknown
  try {
    decoded = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw invalid()
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 2 ||
    decoded[0] !== op ||
    typeof decoded[1] !== 'string'
  ) {
    throw invalid()
  }
  return decoded[1]
}

/**
 * Reads Limit and Marker for `op`: the default Limit when none is given, AWS's validation
 * message when the Limit exceeds the operation's own maximum, InvalidMarkerException for a
 * marker Keyward did not issue.
 *
 * @example
 *   const page = await ctx.keys.listKeys(ctx.scope, readPageRequest('ListKeys', input))
 */
export function readPageRequest(op: PaginatedOperation, input: PaginationInput): PageRequest {
  const { max, default: fallback } = PAGE_LIMITS[op]
  const limit = input.Limit ?? fallback
  // The model's 1–1000 is checked before the handler runs; this is the stricter service rule,
  // reported in the same words as the model's validator.
  if (limit > max) {
    throw new ValidationException(
      `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to ${max}`,
    )
  }
  if (input.Marker === undefined) return { limit }
  return { limit, after: decodeMarker(op, input.Marker) }
}

/**
 * Turns one page from the store into the response members: a NextMarker pointing after the
 * page's last item when more follow, and no NextMarker otherwise.
 *
 * @example
 *   const out = toPageOutput('ListKeys', page, (k) => k.keyId)
 *   return { Keys: out.items.map(...), Truncated: out.Truncated, NextMarker: out.NextMarker }
 */
export function toPageOutput<T>(
  op: PaginatedOperation,
  page: Page<T>,
  sortKey: (item: T) => string,
): PageOutput<T> {
  const last = page.items[page.items.length - 1]
  if (!page.truncated || last === undefined) return { items: page.items, Truncated: false }
  return { items: page.items, Truncated: true, NextMarker: encodeMarker(op, sortKey(last)) }
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Pages a list held in memory (a key's tags, its policy names) exactly as the store pages
 * its tables: ordered by `sortKey`, resuming strictly after the marker's key, so an item
 * added or removed between two calls never shifts the rest of the listing.
 *
 * @example
 *   const request = readPageRequest('ListResourceTags', input)
 *   const out = pageOfList('ListResourceTags', request, { items: tags, sortKey: (t) => t.TagKey })
 */
export function pageOfList<T>(
  op: PaginatedOperation,
  request: PageRequest,
  list: { items: readonly T[]; sortKey: (item: T) => string },
): PageOutput<T> {
  const { limit, after } = request
  const sorted = [...list.items].sort((a, b) => byCodeUnits(list.sortKey(a), list.sortKey(b)))
  const rest = after === undefined ? sorted : sorted.filter((i) => list.sortKey(i) > after)
  const page = { items: rest.slice(0, limit), truncated: rest.length > limit }
  return toPageOutput(op, page, list.sortKey)
}
