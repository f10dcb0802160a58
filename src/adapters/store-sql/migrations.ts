import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'

/**
 * Whether `db` speaks PostgreSQL ($1 placeholders) rather than SQLite (?): the two spell an
 * auto-numbered key differently, and Kysely's `autoIncrement()` only knows SQLite's and
 * MySQL's spelling.
 */
const usesNumberedParameters = (db: Kysely<unknown>) =>
  db
    .selectNoFrom(sql<number>`${1}`.as('one'))
    .compile()
    .sql.includes('$1')

/**
 * Versioned schema migrations, applied in name order by Kysely's Migrator at start-up. Never
 * edit a migration that has shipped: add the next one.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001_keys_materials_aliases': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('kms_keys')
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('key_state', 'text', (c) => c.notNull())
        .addColumn('deletion_date', 'bigint')
        .addColumn('creation_date', 'bigint', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('kms_keys_pk', ['region', 'key_id'])
        .execute()
      await db.schema
        .createIndex('kms_keys_by_account')
        .on('kms_keys')
        .columns(['account_id', 'region', 'key_id'])
        .execute()
      await db.schema
        .createIndex('kms_keys_by_deletion_date')
        .on('kms_keys')
        .column('deletion_date')
        .execute()
      await db.schema
        .createTable('kms_key_materials')
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('key_material_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('wrapped', sql`blob`, (c) => c.notNull())
        .addPrimaryKeyConstraint('kms_key_materials_pk', ['region', 'key_id', 'key_material_id'])
        .execute()
      await db.schema
        .createTable('kms_aliases')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('alias_name', 'text', (c) => c.notNull())
        .addColumn('target_key_id', 'text', (c) => c.notNull())
        .addColumn('creation_date', 'bigint', (c) => c.notNull())
        .addColumn('last_updated_date', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kms_aliases_pk', ['account_id', 'region', 'alias_name'])
        .execute()
      await db.schema
        .createIndex('kms_aliases_by_target')
        .on('kms_aliases')
        .columns(['region', 'target_key_id'])
        .execute()
      await db.schema
        .createTable('keyward_settings')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute()
    },
  },
  // The scheduler's rotation and expiry jobs find due keys through these indexed columns
  // instead of reading every record. Rows of 0001 get NULL: no key rotated or imported then.
  '0002_rotation_and_expiry_dates': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('kms_keys').addColumn('next_rotation_date', 'bigint').execute()
      await db.schema.alterTable('kms_keys').addColumn('material_expires_at', 'bigint').execute()
      await db.schema
        .createIndex('kms_keys_by_next_rotation_date')
        .on('kms_keys')
        .column('next_rotation_date')
        .execute()
      await db.schema
        .createIndex('kms_keys_by_material_expiry')
        .on('kms_keys')
        .column('material_expires_at')
        .execute()
    },
  },
  // GetKeyLastUsage: the latest cryptographic use of each key. Tracking starts when this
  // migration runs (recorded as a setting), as AWS's TrackingStartDate does.
  '0003_key_last_usage': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('kms_key_last_usage')
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('used_at', 'bigint', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('kms_key_last_usage_pk', ['region', 'key_id'])
        .execute()
      await sql`insert into keyward_settings (name, value) values ('key_usage_tracking_start', ${String(Date.now())})`.execute(
        db,
      )
    },
  },
  // Custom key stores (issue 5): one row per store, its record as JSON beside the columns the
  // rules look up (a name is unique per account and Region, a cluster serves one store), and
  // the store each key lives in, so DeleteCustomKeyStore can count them. Keys of 0001–0003 get
  // NULL: they live in Keyward's own key store.
  '0004_custom_key_stores': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('kms_custom_key_stores')
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('custom_key_store_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('cloud_hsm_cluster_id', 'text', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('kms_custom_key_stores_pk', ['region', 'custom_key_store_id'])
        .execute()
      await db.schema
        .createIndex('kms_custom_key_stores_by_name')
        .on('kms_custom_key_stores')
        .columns(['account_id', 'region', 'name'])
        .unique()
        .execute()
      await db.schema
        .createIndex('kms_custom_key_stores_by_cluster')
        .on('kms_custom_key_stores')
        .column('cloud_hsm_cluster_id')
        .unique()
        .execute()
      await db.schema.alterTable('kms_keys').addColumn('custom_key_store_id', 'text').execute()
      await db.schema
        .createIndex('kms_keys_by_custom_key_store')
        .on('kms_keys')
        .columns(['region', 'custom_key_store_id'])
        .execute()
    },
  },
  // External key stores have no CloudHSM cluster: the column becomes nullable (a unique index
  // allows many NULLs in SQLite and PostgreSQL). SQLite cannot drop a NOT NULL constraint, so
  // the table is rebuilt, as its documentation prescribes ("ALTER TABLE", section 7).
  '0005_external_key_stores': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('kms_custom_key_stores_0005')
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('custom_key_store_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('cloud_hsm_cluster_id', 'text')
        .addColumn('record', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('kms_custom_key_stores_0005_pk', ['region', 'custom_key_store_id'])
        .execute()
      await sql`INSERT INTO kms_custom_key_stores_0005
        (region, custom_key_store_id, account_id, name, cloud_hsm_cluster_id, record)
        SELECT region, custom_key_store_id, account_id, name, cloud_hsm_cluster_id, record
        FROM kms_custom_key_stores`.execute(db)
      await db.schema.dropTable('kms_custom_key_stores').execute()
      await db.schema
        .alterTable('kms_custom_key_stores_0005')
        .renameTo('kms_custom_key_stores')
        .execute()
      await db.schema
        .createIndex('kms_custom_key_stores_by_name')
        .on('kms_custom_key_stores')
        .columns(['account_id', 'region', 'name'])
        .unique()
        .execute()
      await db.schema
        .createIndex('kms_custom_key_stores_by_cluster')
        .on('kms_custom_key_stores')
        .column('cloud_hsm_cluster_id')
        .unique()
        .execute()
    },
  },
  // Grants (issue 12): one row per grant, its record as JSON beside the columns the listings
  // and rules look up. Grant IDs are random 256-bit values, unique in every Region. Grants are
  // deleted with their key (deleteKey), in the same transaction.
  '0006_grants': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('kms_grants')
        .addColumn('grant_id', 'text', (c) => c.primaryKey())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('grantee_principal', 'text', (c) => c.notNull())
        .addColumn('retiring_principal', 'text')
        .addColumn('creation_date', 'bigint', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('kms_grants_by_key')
        .on('kms_grants')
        .columns(['region', 'key_id', 'grant_id'])
        .execute()
      await db.schema
        .createIndex('kms_grants_by_name')
        .on('kms_grants')
        .columns(['region', 'key_id', 'name'])
        .execute()
      await db.schema
        .createIndex('kms_grants_by_retiring_principal')
        .on('kms_grants')
        .columns(['retiring_principal', 'region', 'grant_id'])
        .execute()
    },
  },
  // Multi-Region keys (issue 14): replicas are rows of kms_keys like any key (the set of
  // related keys is in each record), so no table changes. The scheduler looks for keys left in
  // a transient state (Creating, Updating) by a crash on every tick: this index keeps that
  // lookup from reading every key.
  '0007_multi_region_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('kms_keys_by_key_state')
        .on('kms_keys')
        .column('key_state')
        .execute()
    },
  },
  // Scale (issue 13): no request or scheduler tick walks every key or alias. Each index below
  // replaces one whose columns stopped short of the query's filters, so the query fell back to
  // a range of the whole Region or account (SQLite docs, "The SQLite Query Optimizer
  // Overview", §8 ORDER BY: an index that also gives the order avoids the sort):
  // - the keys of a custom key store, by key ID (CreateKey in an external key store, twice);
  // - the aliases of one key, by alias name (ListAliases with KeyId), which also serves the
  //   count and the delete of a key's aliases (region, target_key_id);
  // - the enabled keys whose rotation is due (the rotation job skips the other states).
  '0008_scale_indexes_and_change_log': {
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex('kms_keys_by_custom_key_store').execute()
      await db.schema
        .createIndex('kms_keys_by_custom_key_store_0008')
        .on('kms_keys')
        .columns(['region', 'custom_key_store_id', 'key_id'])
        .execute()
      await db.schema.dropIndex('kms_aliases_by_target').execute()
      await db.schema
        .createIndex('kms_aliases_by_target_0008')
        .on('kms_aliases')
        .columns(['region', 'target_key_id', 'account_id', 'alias_name'])
        .execute()
      await db.schema.dropIndex('kms_keys_by_next_rotation_date').execute()
      await db.schema
        .createIndex('kms_keys_by_state_and_next_rotation_0008')
        .on('kms_keys')
        .columns(['key_state', 'next_rotation_date'])
        .execute()
      // The change log (see KeyStore.changeLog): each write appends what it changed in the same
      // transaction; a process sharing the database forgets only those cache entries. The
      // sequence never reuses a number (SQLite's AUTOINCREMENT, docs "SQLite Autoincrement";
      // PostgreSQL's bigserial), so a reader can tell the log was trimmed past its position.
      await db.schema
        .createTable('keyward_changes')
        .addColumn('seq', usesNumberedParameters(db) ? 'bigserial' : 'integer', (c) =>
          usesNumberedParameters(db) ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('changed_at', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text')
        .addColumn('name', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('keyward_changes_by_time')
        .on('keyward_changes')
        .column('changed_at')
        .execute()
    },
  },
  // GetKeyLastUsage's CloudTrailEventId: the audit trail's event of the latest use, when a
  // trail recorded it (API Reference, GetKeyLastUsage). Rows of 0003 get NULL.
  '0009_key_last_usage_event_id': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('kms_key_last_usage')
        .addColumn('cloudtrail_event_id', 'text')
        .execute()
    },
  },
}

/** Hands the in-code migrations to Kysely's Migrator (no migration files to ship or find). */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
}
