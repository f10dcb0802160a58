import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { MIGRATION_LOCK } from '../../src/adapters/store-pg/open-postgres.js'

/**
 * The PostgreSQL server of this test run: KEYWARD_TEST_PG, set by scripts/test-postgres.mjs
 * (which `npm test` runs around the test runner, starting a throwaway cluster) or by whoever
 * runs the tests against a server of their own.
 */
export const TEST_PG_URL = process.env.KEYWARD_TEST_PG || undefined

/** The reason PostgreSQL tests skip, or false when they run. */
export const PG_SKIP: string | false = TEST_PG_URL
  ? false
  : 'KEYWARD_TEST_PG is not set: run through `npm test` (scripts/test-postgres.mjs starts a cluster) or set it to a server URL'

/** `url` with one more query parameter. */
export function withParam(url: string, name: string, value: string): string {
  const sep = url.includes('?') ? '&' : '?'
  return `${url}${sep}${name}=${encodeURIComponent(value)}`
}

/**
 * A new, empty schema in the test server, and a URL whose sessions use it (`search_path` as a
 * startup parameter): each store of the contract suite starts from nothing, as on SQLite,
 * without the cost of a database per test. Returns the URL and a function that drops it.
 */
export async function freshSchema(
  base: string = TEST_PG_URL!,
): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`
  const admin = postgres(base, { max: 1, onnotice: () => undefined })
  try {
    await admin.unsafe(`create schema ${schema}`)
  } finally {
    await admin.end()
  }
  return {
    url: withParam(base, 'search_path', schema),
    schema,
    drop: async () => {
      const sql = postgres(base, { max: 1, onnotice: () => undefined })
      try {
        // Under the migration lock: Kysely's migrator lists the tables of every schema, and a
        // schema dropped during that listing fails another test's start-up with "schema …
        // does not exist" (seen once in a Node 24 run).
        await sql`select pg_advisory_lock(${String(MIGRATION_LOCK)}::bigint)`
        await sql.unsafe(`drop schema if exists ${schema} cascade`)
        await sql`select pg_advisory_unlock(${String(MIGRATION_LOCK)}::bigint)`
      } finally {
        await sql.end()
      }
    },
  }
}
