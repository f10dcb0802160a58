/**
 * Every value stored wrapped under the root key, for `keyward root-key rotate`
 * (src/services/root-key-rotation.ts): read page by page in a fixed order, and replaced by
 * compare-and-swap. Kinds come in a fixed order and each in the order of its key, so that a
 * cursor (kind, key) says how far a rotation got and where it resumes.
 */

/** What holds wrapped bytes. */
export type WrappedKind = 'material' | 'materialIdKey' | 'setting' | 'customKeyStore'
export const WRAPPED_KINDS: readonly WrappedKind[] = [
  'setting',
  'customKeyStore',
  'materialIdKey',
  'material',
]

/** One wrapped value: where it is (`key`, ordered within its kind) and its bytes. */
export interface WrappedSlot {
  readonly kind: WrappedKind
  /** The cursor within the kind (primary key columns joined by NUL). */
  readonly key: string
  /** What the wrapping context is made of: Region, key or store ID, material ID, name, field. */
  readonly ids: Readonly<Record<string, string>>
  readonly wrapped: Buffer
}

/**
 * The store side of a root key rotation (SQLite: src/adapters/store-sql/rewrap-store.ts).
 *
 * @example
 *   for (const slot of store.page('material', undefined, 100)) store.replace(slot, rewrapped)
 */
export interface RewrapStore {
  /** How many wrapped values there are (for the progress counter). */
  count(): number
  /** Up to `limit` values of `kind` after the cursor `after`, in cursor order. */
  page(kind: WrappedKind, after: string | undefined, limit: number): WrappedSlot[]
  /** Replaces the bytes if they are still `slot.wrapped`; returns whether it did. */
  replace(slot: WrappedSlot, next: Buffer): boolean
  getSetting(name: string): string | undefined
  /** Sets (undefined: deletes) settings in one transaction. */
  setSettings(values: Readonly<Record<string, string | undefined>>): void
}
