import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely } from 'kysely'
import { ImmediateSqliteDialect } from '../../src/adapters/store-sql/immediate-sqlite-dialect.js'
import { KyselyKeyStore } from '../../src/adapters/store-sql/kysely-key-store.js'
import type { Database } from '../../src/adapters/store-sql/schema.js'
import { STORE_CALLS, recordStoreQueries } from './store-queries.js'

/**
 * The tables that grow with the number of keys (a pass over one is a stall at 1M keys), and
 * the change log, which grows with the rate of writes.
 */
const GROWING = /^(kms_keys|kms_aliases|keyward_changes)$/

/** The columns a statement's WHERE clause compares for equality with a parameter. */
function equalityColumns(sql: string): string[] {
  const where = sql.slice(sql.toLowerCase().indexOf(' where ') + 1)
  return [...where.matchAll(/"(\w+)" = \?/g)].map((m) => m[1] ?? '')
}

/**
 * Why a plan step walks more of a growing table than the statement asks for, or undefined:
 * a SCAN (every row, or every entry of an index), a sort of every match (the ORDER BY not
 * served by the index, so LIMIT cannot stop early), or a SEARCH whose index stops short of an
 * equality filter of the statement (the index gives a whole Region or account, filtered row by
 * row: "SEARCH kms_keys USING INDEX ... (region=?)" for a custom key store's keys).
 */
function walk(sql: string, table: string, detail: string): string | undefined {
  if (/^SCAN /.test(detail)) return 'scan'
  if (/^USE TEMP B-TREE/.test(detail)) return 'sort of every match'
  const search = /^SEARCH \w+ USING (?:COVERING )?INDEX \w+ \((.*)\)$/.exec(detail)
  if (!search) return undefined
  const used = new Set((search[1] ?? '').split(' AND ').map((c) => c.replace(/[=<>].*$/, '')))
  const missing = equalityColumns(sql).filter((c) => !used.has(c))
  return missing.length ? `index does not narrow by ${missing.join(', ')} (${table})` : undefined
}

/** The table a single-table statement reads or writes. */
const tableOf = (sql: string) => /(?:from|update|into) "(\w+)"/.exec(sql)?.[1] ?? ''

describe('SQLite query plans', () => {
  it('no store call a request or a scheduler tick makes scans the keys or aliases tables', async () => {
    const database = new BetterSqlite3(':memory:')
    const recorded: Array<{ sql: string; parameters: readonly unknown[] }> = []
    const db = new Kysely<Database>({
      dialect: new ImmediateSqliteDialect({ database }),
      log: (event) => {
        if (event.level === 'query') {
          recorded.push({ sql: event.query.sql, parameters: event.query.parameters })
        }
      },
    })
    const store = await KyselyKeyStore.open(db)
    try {
      const queries = await recordStoreQueries(store, recorded)
      const calls = new Set(queries.map((q) => q.call))
      // Every listed call ran SQL (a call that stopped querying would hide its plan).
      assert.deepEqual(
        STORE_CALLS.map((c) => c.name).filter((name) => !calls.has(name)),
        [],
      )
      const scans = queries.flatMap((q) => {
        const plan = database
          .prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
          .all(...(q.parameters as unknown[])) as Array<{ detail: string }>
        const table = tableOf(q.sql)
        if (!GROWING.test(table)) return []
        return plan.flatMap((step) => {
          const why = walk(q.sql, table, step.detail)
          return why ? [`${q.call}: ${why}: ${step.detail}`] : []
        })
      })
      assert.deepEqual(scans, [])
    } finally {
      await store.close()
    }
  })
})
