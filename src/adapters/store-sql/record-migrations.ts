import type { KeyRecord } from '../../domain/key.js'

/**
 * Key records are stored as JSON with a schemaVersion. A reader upgrades older versions here,
 * one step per version, so that data written by any earlier Keyward still loads; fixtures of
 * old records live in test/adapters/record-migrations.test.ts.
 */
export const CURRENT_KEY_RECORD_VERSION = 1

/**
 * @throws Error when the record was written by a newer Keyward (refuse rather than misread)
 */
export function readKeyRecord(json: string): KeyRecord {
  const record = JSON.parse(json) as { schemaVersion?: number }
  if (record.schemaVersion !== CURRENT_KEY_RECORD_VERSION) {
    throw new Error(
      `key record schemaVersion ${record.schemaVersion} is not supported by this Keyward (expects ${CURRENT_KEY_RECORD_VERSION})`,
    )
  }
  return record as KeyRecord
}
