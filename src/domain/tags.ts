import { TagException } from './errors/exceptions.js'
import { reservedTagPrefix } from './errors/messages.js'
import type { Tag } from './key.js'

/** At most 50 tags per KMS key (Developer Guide, "Tagging keys"). */
export const MAX_TAGS = 50

/**
 * Applies `added` over `existing` (an existing key's value is replaced), with AWS's refusals:
 * "Tags beginning with aws: are reserved", "Duplicate tag keys", "Too many tags".
 *
 * @example
 *   mergeTags([], [{ TagKey: 'team', TagValue: 'payments' }])
 */
export function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const seen = new Set<string>()
  for (const t of added) {
    if (t.TagKey.toLowerCase().startsWith('aws:')) {
      throw reservedTagPrefix()
    }
    if (seen.has(t.TagKey)) throw new TagException('Duplicate tag keys')
    seen.add(t.TagKey)
  }
  const merged = existing.filter((t) => !seen.has(t.TagKey)).concat(added.map((t) => ({ ...t })))
  if (merged.length > MAX_TAGS) throw new TagException('Too many tags')
  return merged
}
