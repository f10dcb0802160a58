import type { Generated } from 'kysely'

/** Table shapes for Kysely's typed queries. Times are epoch milliseconds. */
export interface Database {
  kms_key_last_usage: {
    region: string
    key_id: string
    operation: string
    used_at: number
    request_id: string
    cloudtrail_event_id: string | null
  }
  kms_keys: {
    region: string
    key_id: string
    account_id: string
    key_state: string
    deletion_date: number | null
    creation_date: number
    /** Next automatic rotation while enabled (migration 0002). */
    next_rotation_date: number | null
    /** Earliest ValidTo of the key's imported materials (migration 0002). */
    material_expires_at: number | null
    /** The custom key store the key lives in (migration 0003). */
    custom_key_store_id: string | null
    /** KeyRecord as JSON, with its own schemaVersion (record-migrations.ts). */
    record: string
  }
  kms_key_materials: {
    region: string
    key_id: string
    key_material_id: string
    created_at: number
    /** The material wrapped under the root key. */
    wrapped: Buffer
  }
  kms_aliases: {
    account_id: string
    region: string
    alias_name: string
    target_key_id: string
    creation_date: number
    last_updated_date: number
  }
  kms_custom_key_stores: {
    region: string
    custom_key_store_id: string
    account_id: string
    name: string
    /** Null for external key stores. */
    cloud_hsm_cluster_id: string | null
    /** CustomKeyStoreRecord as JSON (password or XKS secret wrapped under the root key). */
    record: string
  }
  /** Migration 0006. */
  kms_grants: {
    grant_id: string
    region: string
    key_id: string
    name: string | null
    grantee_principal: string
    retiring_principal: string | null
    creation_date: number
    /** GrantRecord as JSON, with its own schemaVersion. */
    record: string
  }
  /** Migration 0008: what each write changed (KeyStore.changeLog). */
  keyward_changes: {
    seq: Generated<number>
    changed_at: number
    /** 'key', 'alias' or 'custom-key-store'. */
    kind: string
    region: string
    /** The alias's account; null for the other kinds. */
    account_id: string | null
    /** The key ID, alias name or custom key store ID. */
    name: string
  }
  keyward_settings: {
    name: string
    value: string
  }
}
