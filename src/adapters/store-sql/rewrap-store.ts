import BetterSqlite3 from 'better-sqlite3'
import {
  WRAPPED_KINDS,
  type RewrapStore,
  type WrappedKind,
  type WrappedSlot,
} from '../../ports/rewrap-store.js'

/**
 * Every value of the database that is wrapped under the root key, as `keyward root-key rotate`
 * walks them: kinds in a fixed order, each in the order of its primary key, so that a cursor
 * (kind, key) says how far a rotation got and where it resumes. The service
 * (src/services/root-key-rotation.ts) knows the wrapping contexts and does the cryptography;
 * this adapter only reads and compare-and-swaps the stored bytes.
 */

/** The settings that hold wrapped secrets. */
const WRAPPED_SETTINGS = ['grant_token_key', 'sts_session_token_secret'] as const

const SEP = '\u0000'

type Row = Record<string, unknown>

/** A JSON record's wrapped field (`a.b` for nested), base64 → bytes. */
function fieldOf(record: Row, path: string): string | undefined {
  let v: unknown = record
  for (const part of path.split('.')) v = (v as Row | undefined)?.[part]
  return typeof v === 'string' ? v : undefined
}

function withField(record: Row, path: string, value: string): Row {
  const [head, ...rest] = path.split('.')
  if (rest.length === 0) return { ...record, [head!]: value }
  return { ...record, [head!]: withField(record[head!] as Row, rest.join('.'), value) }
}

/**
 * The wrapped values of one SQLite database file, opened as a second connection beside a
 * running server (WAL, a busy timeout, write transactions that take the lock first).
 *
 * @example
 *   const store = SqliteRewrapStore.open('/root/.keyward/keyward.db')
 *   for (const slot of store.page('material', undefined, 100)) …
 */
export class SqliteRewrapStore implements RewrapStore {
  readonly #db: BetterSqlite3.Database

  private constructor(db: BetterSqlite3.Database) {
    this.#db = db
  }

  static open(path: string): SqliteRewrapStore {
    const db = new BetterSqlite3(path, { fileMustExist: true, timeout: 5_000 })
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    return new SqliteRewrapStore(db)
  }

  close(): void {
    this.#db.close()
  }

  /** How many wrapped values there are (for the progress counter). */
  count(): number {
    let n = 0
    for (const kind of WRAPPED_KINDS) {
      for (let after: string | undefined; ;) {
        const page = this.page(kind, after, 1_000)
        n += page.length
        if (page.length < 1_000) break
        after = page[page.length - 1]!.key
      }
    }
    return n
  }

  getSetting(name: string): string | undefined {
    const row = this.#db.prepare('SELECT value FROM keyward_settings WHERE name = ?').get(name) as
      { value: string } | undefined
    return row?.value
  }

  /** Sets (or with undefined deletes) settings in one transaction. */
  setSettings(values: Readonly<Record<string, string | undefined>>): void {
    const put = this.#db.prepare(
      'INSERT INTO keyward_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    )
    const remove = this.#db.prepare('DELETE FROM keyward_settings WHERE name = ?')
    this.#db
      .transaction(() => {
        for (const [name, value] of Object.entries(values)) {
          if (value === undefined) remove.run(name)
          else put.run(name, value)
        }
      })
      .immediate()
  }

  /** Up to `limit` values of `kind` after the cursor `after`, in cursor order. */
  page(kind: WrappedKind, after: string | undefined, limit: number): WrappedSlot[] {
    switch (kind) {
      case 'material':
        return this.#materials(after, limit)
      case 'materialIdKey':
        return this.#recordFields(
          { table: 'kms_keys', id: 'key_id', fields: ['materialIdKey'], kind },
          { after, limit },
        )
      case 'customKeyStore':
        return this.#recordFields(
          {
            table: 'kms_custom_key_stores',
            id: 'custom_key_store_id',
            fields: ['wrappedPassword', 'xksProxy.wrappedSecret'],
            kind,
          },
          { after, limit },
        )
      case 'setting':
        return WRAPPED_SETTINGS.filter((name) => after === undefined || name > after)
          .slice(0, limit)
          .flatMap((name) => {
            const value = this.getSetting(name)
            return value === undefined
              ? []
              : [{ kind, key: name, ids: { name }, wrapped: Buffer.from(value, 'base64') }]
          })
    }
  }

  #materials(after: string | undefined, limit: number): WrappedSlot[] {
    const [region = '', keyId = '', materialId = ''] = after?.split(SEP) ?? []
    const rows = this.#db
      .prepare(
        `SELECT region, key_id, key_material_id, wrapped FROM kms_key_materials
         WHERE ? = 0 OR (region, key_id, key_material_id) > (?, ?, ?)
         ORDER BY region, key_id, key_material_id LIMIT ?`,
      )
      .all(after === undefined ? 0 : 1, region, keyId, materialId, limit) as Array<{
      region: string
      key_id: string
      key_material_id: string
      wrapped: Buffer
    }>
    return rows.map((r) => ({
      kind: 'material' as const,
      key: [r.region, r.key_id, r.key_material_id].join(SEP),
      ids: { region: r.region, keyId: r.key_id, keyMaterialId: r.key_material_id },
      wrapped: r.wrapped,
    }))
  }

  /** Wrapped fields inside the JSON records of a table keyed by (region, id). */
  #recordFields(
    table: { table: string; id: string; fields: readonly string[]; kind: WrappedKind },
    page: { after: string | undefined; limit: number },
  ): WrappedSlot[] {
    const [region = '', id = ''] = page.after?.split(SEP) ?? []
    // Table and column names are this file's constants, never input.
    const rows = this.#db
      .prepare(
        `SELECT region, ${table.id} AS id, record FROM ${table.table}
         WHERE ? = 0 OR (region, ${table.id}) > (?, ?)
         ORDER BY region, ${table.id} LIMIT ?`,
      )
      .all(page.after === undefined ? 0 : 1, region, id, page.limit) as Array<{
      region: string
      id: string
      record: string
    }>
    return rows.flatMap((r) => {
      const record = JSON.parse(r.record) as Row
      return table.fields.flatMap((field) => {
        const value = fieldOf(record, field)
        return value === undefined
          ? []
          : [
              {
                kind: table.kind,
                key: [r.region, r.id].join(SEP),
                ids: { region: r.region, id: r.id, field },
                wrapped: Buffer.from(value, 'base64'),
              },
            ]
      })
    })
  }

  /**
   * Replaces the slot's bytes with `next` if they are still the ones read (a concurrent write
   * wins: it was wrapped by a server, and the next pass looks at it again). Returns whether
   * it replaced them.
   */
  replace(slot: WrappedSlot, next: Buffer): boolean {
    return this.#db
      .transaction(() => {
        switch (slot.kind) {
          case 'material':
            return (
              this.#db
                .prepare(
                  'UPDATE kms_key_materials SET wrapped = ? WHERE region = ? AND key_id = ? AND key_material_id = ? AND wrapped = ?',
                )
                .run(next, slot.ids.region, slot.ids.keyId, slot.ids.keyMaterialId, slot.wrapped)
                .changes === 1
            )
          case 'setting':
            return (
              this.#db
                .prepare('UPDATE keyward_settings SET value = ? WHERE name = ? AND value = ?')
                .run(next.toString('base64'), slot.ids.name, slot.wrapped.toString('base64'))
                .changes === 1
            )
          case 'materialIdKey':
            return this.#replaceField({ table: 'kms_keys', id: 'key_id' }, { slot, next })
          case 'customKeyStore':
            return this.#replaceField(
              { table: 'kms_custom_key_stores', id: 'custom_key_store_id' },
              { slot, next },
            )
        }
      })
      .immediate()
  }

  #replaceField(
    table: { table: string; id: string },
    change: { slot: WrappedSlot; next: Buffer },
  ): boolean {
    const { slot, next } = change
    const row = this.#db
      .prepare(`SELECT record FROM ${table.table} WHERE region = ? AND ${table.id} = ?`)
      .get(slot.ids.region, slot.ids.id) as { record: string } | undefined
    if (!row) return false
    const record = JSON.parse(row.record) as Row
    if (fieldOf(record, slot.ids.field!) !== slot.wrapped.toString('base64')) return false
    const updated = JSON.stringify(withField(record, slot.ids.field!, next.toString('base64')))
    return (
      this.#db
        .prepare(
          `UPDATE ${table.table} SET record = ? WHERE region = ? AND ${table.id} = ? AND record = ?`,
        )
        .run(updated, slot.ids.region, slot.ids.id, row.record).changes === 1
    )
  }
}
