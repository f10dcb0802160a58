import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import postgres from 'postgres'
import { openPostgresKeyStore } from '../../src/adapters/store-pg/open-postgres.js'
import { freshSchema, PG_SKIP } from '../support/postgres.js'
import { STORE_CALLS, recordStoreQueries } from './store-queries.js'

/**
 * Issue 13: no statement a request or a scheduler tick runs walks the tables that grow with the
 * number of keys, on PostgreSQL as on SQLite (sqlite-query-plans.test.ts): PostgreSQL's EXPLAIN
 * of every store call of STORE_CALLS, as the store sent it.
 *
 * The test tables are nearly empty, and on a small table PostgreSQL rightly prefers a
 * sequential scan; with `enable_seqscan = off` (PostgreSQL docs, "Planner Method
 * Configuration") it uses an index wherever one serves the statement, so a Seq Scan left in the
 * plan means that no index does.
 */
const GROWING = new Set(['kms_keys', 'kms_aliases', 'keyward_changes'])

/** A node of EXPLAIN (FORMAT JSON)'s plan tree. */
interface PlanNode {
  readonly 'Node Type': string
  readonly 'Relation Name'?: string
  readonly 'Index Cond'?: string
  readonly 'Recheck Cond'?: string
  readonly Plans?: readonly PlanNode[]
}

/** The columns a statement's WHERE clause compares for equality with a parameter. */
function equalityColumns(sql: string): string[] {
  const where = sql.slice(sql.toLowerCase().indexOf(' where ') + 1)
  return [...where.matchAll(/"(\w+)" = \$\d+/g)].map((m) => m[1] ?? '')
}

/**
 * Why a plan node walks more of a growing table than the statement asks for, or undefined: a
 * Seq Scan, or an index scan whose condition leaves out an equality filter of the statement
 * (the index gives a whole Region or account, filtered row by row), as the SQLite test checks.
 */
function walk(node: PlanNode, sql: string): string | undefined {
  const table = node['Relation Name']
  if (table === undefined || !GROWING.has(table)) return undefined
  const type = node['Node Type']
  if (type === 'Seq Scan') return `Seq Scan on ${table}`
  const cond = type === 'Bitmap Heap Scan' ? node['Recheck Cond'] : node['Index Cond']
  if (!/Index|Bitmap/.test(type)) return undefined
  if (cond === undefined) return `${type} on ${table} without a condition`
  const missing = equalityColumns(sql).filter((c) => !new RegExp(`\\b${c}\\b`).test(cond))
  return missing.length ? `${type} on ${table} does not narrow by ${missing.join(', ')}` : undefined
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

describe('PostgreSQL query plans', { skip: PG_SKIP }, () => {
  const drops: Array<() => Promise<void>> = []
  after(async () => {
    for (const drop of drops.splice(0)) await drop().catch(() => undefined)
  })

  it('no store call a request or a scheduler tick makes scans the keys or aliases tables', async () => {
    const { url, drop } = await freshSchema()
    drops.push(drop)
    const recorded: Array<{ sql: string; parameters: readonly unknown[] }> = []
    const store = await openPostgresKeyStore(url, {
      log: (event) => {
        if (event.level === 'query') {
          recorded.push({ sql: event.query.sql, parameters: event.query.parameters })
        }
      },
    })
    const explain = postgres(url, { max: 1, onnotice: () => undefined })
    try {
      const queries = await recordStoreQueries(store, recorded)
      const calls = new Set(queries.map((q) => q.call))
      assert.deepEqual(
        STORE_CALLS.map((c) => c.name).filter((name) => !calls.has(name)),
        [],
      )
      await explain`set enable_seqscan = off`
      const walks: string[] = []
      for (const q of queries) {
        // Transaction control and locks have no plan.
        if (!/^\s*(select|insert|update|delete|with)\b/i.test(q.sql)) continue
        const [row] = await explain.unsafe<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(
          `explain (format json) ${q.sql}`,
          q.parameters as never[],
        )
        for (const node of nodesOf(row!['QUERY PLAN'][0]!.Plan)) {
          const why = walk(node, q.sql)
          if (why) walks.push(`${q.call}: ${why}`)
        }
      }
      assert.deepEqual(walks, [])
    } finally {
      await explain.end()
      await store.close()
    }
  })
})
