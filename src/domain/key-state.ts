import { keyDisabled, keyInInvalidState, keyNotPendingDeletion } from './errors/messages.js'
import type { KeyRecord, KeyState } from './key.js'

/**
 * The key state × operation table of the AWS KMS Developer Guide ("Key states of AWS KMS
 * keys"; ../shared/reference/kms-api.md §3.4), as data. Each operation names a rule; each rule
 * says, per state, whether the call proceeds or which exception it gets. Messages follow the
 * footnotes of that table, as recorded on the wire (they start with the key ARN).
 */
export type StateRule =
  /** Cryptographic use (Encrypt, Decrypt, GenerateDataKey*, Sign, ...). */
  | 'use'
  /** CreateGrant: as 'use', but an Unavailable key (custom key store) still takes grants. */
  | 'grant'
  /** EnableKey, DisableKey. */
  | 'toggle'
  /** CreateAlias, TagResource, UntagResource, UpdateKeyDescription, UpdateAlias (target). */
  | 'manage'
  | 'scheduleDeletion'
  | 'cancelDeletion'
  /**
   * GetParametersForImport, ImportKeyMaterial: any state of a key that takes imported material
   * but PendingDeletion ([8]: KMSInvalidStateException) and the transient ones.
   */
  | 'import'
  /** ReplicateKey, on the primary: Enabled only (rows ReplicateKey, footnotes [1]-[15]). */
  | 'replicate'
  /** UpdatePrimaryRegion, on the primary and the replica: as ReplicateKey, but Updating is fine. */
  | 'updatePrimaryRegion'
  /** DescribeKey, policies, listing: every state. */
  | 'any'

type Verdict = 'ok' | 'disabled' | 'invalid' | 'notPendingDeletion'

const ALL_OK: Record<KeyState, Verdict> = {
  Creating: 'ok',
  Enabled: 'ok',
  Disabled: 'ok',
  PendingDeletion: 'ok',
  PendingImport: 'ok',
  PendingReplicaDeletion: 'ok',
  Unavailable: 'ok',
  Updating: 'ok',
}

const RULES: Record<StateRule, Record<KeyState, Verdict>> = {
  use: {
    ...ALL_OK,
    Creating: 'invalid',
    Disabled: 'disabled',
    // Footnote [2]/[3]: AWS answers KMSInvalidStateException on the wire.
    PendingDeletion: 'invalid',
    PendingReplicaDeletion: 'invalid',
    PendingImport: 'invalid',
    Unavailable: 'invalid',
  },
  grant: {
    ...ALL_OK,
    Creating: 'invalid',
    Disabled: 'disabled',
    PendingDeletion: 'invalid',
    PendingReplicaDeletion: 'invalid',
    PendingImport: 'invalid',
  },
  toggle: {
    ...ALL_OK,
    Creating: 'invalid',
    PendingDeletion: 'invalid',
    PendingReplicaDeletion: 'invalid',
    PendingImport: 'invalid',
    Updating: 'invalid',
  },
  manage: { ...ALL_OK, PendingDeletion: 'invalid', PendingReplicaDeletion: 'invalid' },
  scheduleDeletion: {
    ...ALL_OK,
    PendingDeletion: 'invalid',
    PendingReplicaDeletion: 'invalid',
    Updating: 'invalid',
  },
  cancelDeletion: {
    Creating: 'notPendingDeletion',
    Enabled: 'notPendingDeletion',
    Disabled: 'notPendingDeletion',
    PendingDeletion: 'ok',
    PendingImport: 'notPendingDeletion',
    PendingReplicaDeletion: 'ok',
    Unavailable: 'notPendingDeletion',
    Updating: 'notPendingDeletion',
  },
  import: {
    ...ALL_OK,
    Creating: 'invalid',
    PendingDeletion: 'invalid',
    PendingReplicaDeletion: 'invalid',
    Unavailable: 'invalid',
    Updating: 'invalid',
  },
  replicate: {
    ...ALL_OK,
    Creating: 'invalid',
    Disabled: 'disabled',
    PendingDeletion: 'invalid',
    PendingReplicaDeletion: 'invalid',
    PendingImport: 'invalid',
    Unavailable: 'invalid',
    Updating: 'invalid',
  },
  updatePrimaryRegion: {
    ...ALL_OK,
    Creating: 'invalid',
    Disabled: 'disabled',
    PendingDeletion: 'invalid',
    PendingReplicaDeletion: 'invalid',
    PendingImport: 'invalid',
    Unavailable: 'invalid',
  },
  any: ALL_OK,
}

/**
 * Throws the exception AWS sends when `key`'s state forbids an operation under `rule`.
 *
 * @example
 *   assertKeyState(key, 'use') // DisabledException: arn:aws:kms:…:key/… is disabled.
 */
export function assertKeyState(key: KeyRecord, rule: StateRule): void {
  switch (RULES[rule][key.keyState]) {
    case 'ok':
      return
    case 'disabled':
      throw keyDisabled(key.arn)
    case 'notPendingDeletion':
      throw keyNotPendingDeletion(key.arn)
    case 'invalid':
      throw keyInInvalidState(key.arn, key.keyState)
  }
}
