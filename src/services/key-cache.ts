/**
 * A map bounded by an estimate of the memory its entries hold, evicting the least recently
 * used first. Key records and their unwrapped material are cached this way (KeyService):
 * unbounded, a million keys used once each held 4–5 GiB (issue 13).
 *
 * The order is a Map's insertion order: a hit is deleted and set again, so the first entry is
 * always the least recently used, and eviction is O(1) per entry.
 *
 * @example
 *   const cache = new ByteBoundedLru<string>(1024)
 *   cache.set('a', 'x', 600)
 *   cache.set('b', 'y', 600) // evicts 'a': 1200 bytes > 1024
 */
export class ByteBoundedLru<V> {
  readonly #entries = new Map<string, { value: V; bytes: number }>()
  readonly #maxBytes: number
  #bytes = 0

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** The entry, now the most recently used; undefined when absent. */
  get(id: string): V | undefined {
    const entry = this.#entries.get(id)
    if (!entry) return undefined
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    return entry.value
  }

  /** Stores `value` as the most recently used entry, then evicts down to the bound. */
  set(id: string, value: V, bytes: number): void {
    this.delete(id)
    this.#entries.set(id, { value, bytes })
    this.#bytes += bytes
    this.#evict()
  }

  /**
   * Adds `bytes` to the size of an entry that grew in place (material unwrapped into a cached
   * key), then evicts down to the bound; nothing when the entry has gone meanwhile.
   */
  grow(id: string, bytes: number): void {
    const entry = this.#entries.get(id)
    if (!entry) return
    entry.bytes += bytes
    this.#bytes += bytes
    this.#evict()
  }

  delete(id: string): void {
    const entry = this.#entries.get(id)
    if (!entry) return
    this.#entries.delete(id)
    this.#bytes -= entry.bytes
  }

  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }

  /** How many entries, and the estimate of the bytes they hold. */
  usage(): { entries: number; bytes: number; maxBytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes, maxBytes: this.#maxBytes }
  }

  #evict(): void {
    for (const [id, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) return
      this.#entries.delete(id)
      this.#bytes -= entry.bytes
    }
  }
}
