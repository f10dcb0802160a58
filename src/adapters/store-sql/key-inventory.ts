import { PostgresAdapter, sql, type Kysely } from 'kysely'
import type { Database } from './schema.js'

/**
 * What the metrics need to know of every key (src/services/metrics.ts), in two queries over
 * `kms_keys`: counts by key state and key spec, and the keys whose imported material expires.
 * Both scan the table, so the metrics read them at most once per refresh interval, never per
 * request.
 */

/**
 * The key spec is inside the JSON record: `->>` reads it on SQLite 3.38+ (a bare label means
 * `$.keySpec`, SQLite docs "JSON Functions", "The -> and ->> operators") and on PostgreSQL once
 * the text column is cast to jsonb.
 */
function keySpecOf(db: Kysely<Database>) {
  return db.getExecutor().adapter instanceof PostgresAdapter
    ? sql<string>`(record::jsonb ->> 'keySpec')`
    : sql<string>`(record ->> 'keySpec')`
}

/**
 * How many keys are in each (key state, key spec) pair, every account and Region.
 *
 * @example
 *   const rows = await countKeysByStateAndSpec(db) // [{ keyState: 'Enabled', keySpec: 'SYMMETRIC_DEFAULT', count: 3 }]
 */
export async function countKeysByStateAndSpec(
  db: Kysely<Database>,
): Promise<Array<{ keyState: string; keySpec: string; count: number }>> {
  const spec = keySpecOf(db)
  const rows = await db
    .selectFrom('kms_keys')
    .select([
      'key_state',
      spec.as('key_spec'),
      (eb) => eb.fn.countAll<number | string | bigint>().as('n'),
    ])
    .groupBy(['key_state', spec])
    .execute()
  return rows.map((r) => ({ keyState: r.key_state, keySpec: r.key_spec, count: Number(r.n) }))
}

/**
 * Every key with imported material that expires, with the earliest ValidTo (epoch ms) of its
 * materials, as the expiry job reads it.
 *
 * @example
 *   for (const { region, keyId, expiresAt } of await listMaterialExpirations(db)) …
 */
export async function listMaterialExpirations(
  db: Kysely<Database>,
): Promise<Array<{ region: string; keyId: string; expiresAt: number }>> {
  const rows = await db
    .selectFrom('kms_keys')
    .select(['region', 'key_id', 'material_expires_at'])
    .where('material_expires_at', 'is not', null)
    .execute()
  return rows.map((r) => ({
    region: r.region,
    keyId: r.key_id,
    expiresAt: Number(r.material_expires_at),
  }))
}
