import { assertKeyState } from '../domain/key-state.js'
import { allImported } from '../domain/key-materials.js'
import { KEY_ORIGINS } from '../domain/key-origins.js'
import type { KeyRecord } from '../domain/key.js'
import type { Handler } from './context.js'

/**
 * The record without its deletion schedule, Disabled; or PendingImport when imported material
 * was deleted or expired while it was pending deletion (a key without its material cannot be
 * enabled: Developer Guide, "Key states", PendingImport).
 */
function withoutDeletion(key: KeyRecord): KeyRecord {
  const { deletionDate: _date, pendingDeletionWindowInDays: _window, ...rest } = key
  const missingMaterial = KEY_ORIGINS[key.origin].material === 'imported' && !allImported(key)
  return { ...rest, keyState: missingMaterial ? 'PendingImport' : 'Disabled' }
}

/**
 * CancelKeyDeletion: PendingDeletion → Disabled (not Enabled: "the KMS key is disabled"; the
 * caller enables it explicitly), with its DeletionDate cleared; any other state is refused
 * with "<arn> is not pending deletion." (API Reference, CancelKeyDeletion; Developer Guide,
 * "Key states", footnote [4]). The response KeyId is the key ARN.
 */
export const cancelKeyDeletion: Handler<'CancelKeyDeletion'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const cancelled = await ctx.keys.mutate(key, (current) => {
    assertKeyState(current, 'cancelDeletion')
    return withoutDeletion(current)
  })
  return { KeyId: cancelled.arn }
}
