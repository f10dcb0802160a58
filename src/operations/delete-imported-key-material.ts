import { NotFoundException, ValidationException } from '../domain/errors/exceptions.js'
import { findMaterial, withMaterialsDeleted } from '../domain/key-materials.js'
import type { Handler } from './context.js'
import { keyForImport } from './support/key-import.js'

/**
 * DeleteImportedKeyMaterial (API Reference): deletes imported material (KeyMaterialId, by
 * default the current one) at once. The key becomes PendingImport, or stays PendingDeletion,
 * and nothing it encrypted can be decrypted until the same material is imported again; a
 * material only pending rotation is simply forgotten. Deleting material that is already gone,
 * or from a key that never had any, changes nothing ("✓ (no effect)" in the Developer Guide's
 * key state table). Works in every key state of a key with imported material.
 */
export const deleteImportedKeyMaterial: Handler<'DeleteImportedKeyMaterial'> = async (
  ctx,
  input,
) => {
  const key = await keyForImport(ctx, input.KeyId)
  const symmetric = key.keySpec === 'SYMMETRIC_DEFAULT'
  if (input.KeyMaterialId !== undefined && !symmetric) {
    throw new ValidationException(
      'KeyMaterialId can be specified only for symmetric encryption KMS keys.',
    )
  }
  let deleted: string | undefined
  await ctx.keys.mutate(key, async (current, tx) => {
    const target = input.KeyMaterialId ?? current.currentKeyMaterialId
    if (target === undefined) return current
    const material = findMaterial(current, target)
    if (!material) {
      throw new NotFoundException(
        `Key material ${target} is not associated with the KMS key ${current.arn}.`,
      )
    }
    deleted = target
    if (material.imported?.importState === 'PENDING_IMPORT') return current
    await ctx.keys.dropMaterial(tx, current, target)
    return withMaterialsDeleted(current, [target])
  })
  return { KeyId: key.arn, KeyMaterialId: symmetric ? deleted : undefined }
}
