import {
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
  CompiledQuery as Compiled,
} from 'kysely'
import type { ReservedSql, Sql } from 'postgres'

/**
 * Kysely over postgres.js (porsager/postgres). The small published dialect for it
 * (kysely-postgres-js) sends every query with `sql.unsafe(text, params)`, and postgres.js
 * turns prepared statements off for `unsafe` unless asked ("By default, sql.unsafe assumes the
 * query string is sufficiently dynamic that prepared statements do not make sense", its
 * README, "Unsafe raw string queries"). Kysely's queries are a few dozen fixed shapes, which is
 * exactly what prepared statements are for, so this driver asks for them.
 */
class PostgresJsConnection implements DatabaseConnection {
  readonly #sql: ReservedSql

  constructor(sql: ReservedSql) {
    this.#sql = sql
  }

  get reserved(): ReservedSql {
    return this.#sql
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#sql.unsafe(query.sql, [...query.parameters] as never[], {
      prepare: true,
    })
    const affects = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(result.command)
    return {
      ...(affects ? { numAffectedRows: BigInt(result.count) } : {}),
      rows: Array.from(result) as R[],
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not used by Keyward')
  }
}

class PostgresJsDriver implements Driver {
  readonly #sql: Sql

  constructor(sql: Sql) {
    this.#sql = sql
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PostgresJsConnection(await this.#sql.reserve())
  }

  async beginTransaction(
    connection: DatabaseConnection,
    settings: TransactionSettings,
  ): Promise<void> {
    const level = settings.isolationLevel ? ` isolation level ${settings.isolationLevel}` : ''
    await connection.executeQuery(Compiled.raw(`begin${level}`))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(Compiled.raw('commit'))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(Compiled.raw('rollback'))
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    ;(connection as PostgresJsConnection).reserved.release()
  }

  async destroy(): Promise<void> {
    await this.#sql.end({ timeout: 5 })
  }
}

/**
 * A Kysely dialect over one postgres.js pool (whose multi-host URL, `target_session_attrs`,
 * TLS and reconnection are postgres.js's own).
 *
 * @example
 *   const db = new Kysely<Database>({ dialect: new PostgresJsDialect(postgres(url)) })
 */
export class PostgresJsDialect implements Dialect {
  readonly #sql: Sql

  constructor(sql: Sql) {
    this.#sql = sql
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter()
  }

  createDriver(): Driver {
    return new PostgresJsDriver(this.#sql)
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }
}
