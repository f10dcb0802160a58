import { Kysely, sql as kyselySql, type KyselyConfig } from 'kysely'
import postgres, { type Sql } from 'postgres'
import { KyselyKeyStore, type Db, type StoreOptions } from '../store-sql/kysely-key-store.js'
import type { Database } from '../store-sql/schema.js'
import { PostgresJsDialect } from './postgres-dialect.js'

/** The channel every node LISTENs on; payloads are `<region>/<keyId>` or `*`. */
export const CHANGES_CHANNEL = 'keyward_changes'

/**
 * Advisory lock keys (one 64-bit space per database). Migrations take MIGRATION_LOCK for the
 * session; each scheduler job takes (JOB_LOCK_CLASS, hash of its name) for its tick; a quota
 * count takes (COUNT_LOCK_CLASS, hash of what it counts) for its transaction.
 */
export const MIGRATION_LOCK = 0x6b6579_77617264n // "keyward"
const JOB_LOCK_CLASS = 0x6b6a6f62 // "kjob"
const COUNT_LOCK_CLASS = 0x6b636e74 // "kcnt"

/** True for a `postgres://` or `postgresql://` connection string. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value)
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/i, '$1:***@')
}

/** What a PostgreSQL store does beyond the KeyStore port. */
export interface PostgresStoreOptions {
  /** See StoreOptions.guardTransactions (tests). */
  readonly guardTransactions?: boolean
  /**
   * Called with what another node (or this one) changed: `<region>/<keyId>`, or `*` for
   * anything else, and `*` again whenever the LISTEN connection was (re)established, since
   * notifications sent while it was down are lost (PostgreSQL docs, NOTIFY: "notifications
   * are only delivered to sessions that are listening at the time").
   */
  readonly onChange?: (changed: string) => void
  /** Connections in this node's pool (10 by default, postgres.js's default). */
  readonly maxConnections?: number
  /** Seconds to wait for a connection before the query fails (5 by default). */
  readonly connectTimeoutSeconds?: number
  /** Kysely's query log (the query-plan test records every statement with it). */
  readonly log?: KyselyConfig['log']
}

/**
 * The connection pool: postgres.js, for what high availability needs of a driver. One URL may
 * list several hosts (`postgres://a:5432,b:5432/db?target_session_attrs=read-write`): each new
 * connection tries them in order and keeps the first that is writable, so after a failover
 * the pool reconnects to the new primary by itself (postgres.js README, "Multi-host
 * connections - High Availability (HA)"); `sslmode` / `sslrootcert` in the URL give TLS;
 * statements are prepared (see postgres-dialect.ts).
 */
function openPool(url: string, options: PostgresStoreOptions): Sql {
  return postgres(url, {
    max: options.maxConnections ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    // A connection that broke (server restart, failover) is replaced on next use; recycling
    // idle ones keeps the pool from holding sockets to a server that is gone.
    idle_timeout: 60,
    onnotice: () => undefined,
    connection: { application_name: 'keyward' },
  })
}

/**
 * Durability as on SQLite (WAL, synchronous=FULL): a commit is acknowledged only once its WAL
 * record is flushed. `synchronous_commit = off` would acknowledge commits that a crash can
 * lose (PostgreSQL docs, "Asynchronous Commit", 30.4), so it is refused rather than run with.
 * Checked on the session, so a per-role or per-database `off` is seen too.
 */
async function requireSynchronousCommit(pool: Sql): Promise<void> {
  const [row] = await pool<
    { setting: string }[]
  >`select current_setting('synchronous_commit') as setting`
  if (row?.setting === 'off') {
    throw new Error(
      "the server runs with synchronous_commit = off, which acknowledges commits a crash can lose; set synchronous_commit = on (or local, remote_write, remote_apply) for Keyward's database",
    )
  }
}

/**
 * Migrations once, however many nodes start at the same moment: a session advisory lock
 * (PostgreSQL docs, "Advisory Locks", 13.3.5) held on one reserved connection while this node
 * migrates; the others wait for it and then find nothing left to do. The lock dies with the
 * session, so a node killed mid-migration does not block the next (the migration itself is
 * one transaction, rolled back by the server).
 */
async function migrateOnce(pool: Sql, open: (schema: string) => Promise<KyselyKeyStore>) {
  const lock = await pool.reserve()
  try {
    await lock`select pg_advisory_lock(${String(MIGRATION_LOCK)}::bigint)`
    try {
      const [row] = await lock<{ schema: string | null }[]>`select current_schema() as schema`
      if (!row?.schema) {
        throw new Error('no schema to create tables in (the search_path names none that exists)')
      }
      // Migration 0001 declares the wrapped material `blob`, SQLite's name; PostgreSQL calls
      // it bytea. A domain gives the shipped migration the type it names, unchanged.
      await lock`
        do $$ begin
          if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                         where t.typname = 'blob' and n.nspname = current_schema()) then
            create domain blob as bytea;
          end if;
        end $$`
      return await open(row.schema)
    } finally {
      await lock`select pg_advisory_unlock(${String(MIGRATION_LOCK)}::bigint)`
    }
  } finally {
    lock.release()
  }
}

/** Sends one NOTIFY per changed item, in the transaction `db` (delivered at its commit). */
async function announce(db: Db, changed: readonly string[]): Promise<void> {
  for (const item of changed) {
    await kyselySql`select pg_notify(${CHANGES_CHANNEL}, ${item})`.execute(db)
  }
}

/**
 * A lock held until the transaction `db` ends (PostgreSQL docs, "Advisory Locks": "transaction
 * level lock requests … are automatically released at the end of the transaction").
 */
async function lockName(db: Db, name: string): Promise<void> {
  await kyselySql`select pg_advisory_xact_lock(${COUNT_LOCK_CLASS}::int, hashtext(${name}))`.execute(
    db,
  )
}

/**
 * A scheduler job on one node at a time: a session advisory lock per job name, tried without
 * waiting (`pg_try_advisory_lock`), held for the tick on one reserved connection. When the
 * node holding it dies its session ends and the lock with it, so the next tick of another node
 * runs the job (PostgreSQL docs, "Advisory Locks": session locks are released "when the
 * session ends").
 */
function exclusiveJobs(pool: Sql) {
  return async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    const connection = await pool.reserve()
    try {
      const [row] = await connection<{ locked: boolean }[]>`
        select pg_try_advisory_lock(${JOB_LOCK_CLASS}::int, hashtext(${name})) as locked`
      if (!row?.locked) return undefined
      try {
        return await fn()
      } finally {
        await connection`select pg_advisory_unlock(${JOB_LOCK_CLASS}::int, hashtext(${name}))`
      }
    } finally {
      connection.release()
    }
  }
}

/**
 * Opens Keyward's store in a PostgreSQL database (several hosts may be listed, see openPool):
 * checks durability settings, runs pending migrations once across nodes, and LISTENs for
 * other nodes' changes when `onChange` is given.
 *
 * @example
 *   const store = await openPostgresKeyStore('postgres://keyward@db1,db2/keyward?target_session_attrs=read-write', {
 *     onChange: (changed) => keyService.forget(changed),
 *   })
 */
export async function openPostgresKeyStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<KyselyKeyStore> {
  const pool = openPool(url, options)
  let listener: Sql | undefined
  try {
    await requireSynchronousCommit(pool)
    if (options.onChange) {
      const onChange = options.onChange
      // LISTEN needs one session of its own; postgres.js keeps it and re-LISTENs after a
      // reconnect, calling the third argument each time it (re)listens.
      listener = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => undefined })
      await listener.listen(CHANGES_CHANNEL, onChange, () => onChange('*'))
    }
    const listening = listener
    const storeOptions: StoreOptions = {
      lockRows: true,
      lockName,
      announceChanges: announce,
      exclusive: exclusiveJobs(pool),
      ...(options.guardTransactions ? { guardTransactions: true } : {}),
      ...(listening ? { onClose: () => listening.end({ timeout: 5 }) } : {}),
    }
    const db = new Kysely<Database>({
      dialect: new PostgresJsDialect(pool),
      ...(options.log ? { log: options.log } : {}),
    })
    return await migrateOnce(pool, (schema) =>
      KyselyKeyStore.open(db, { ...storeOptions, migrationSchema: schema }),
    )
  } catch (error) {
    await listener?.end({ timeout: 1 }).catch(() => undefined)
    await pool.end({ timeout: 1 }).catch(() => undefined)
    const cause =
      error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ''
    throw new Error(
      `${redactUrl(url)}: ${error instanceof Error ? error.message : String(error)}${cause}`,
      { cause: error },
    )
  }
}
