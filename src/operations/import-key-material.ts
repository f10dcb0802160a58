import {
  ExpiredImportTokenException,
  IncorrectKeyMaterialException,
  InvalidCiphertextException,
  InvalidImportTokenException,
  KMSInvalidStateException,
  ValidationException,
} from '../domain/errors/exceptions.js'
import { unwrapKeyMaterial } from '../crypto/key-import.js'
import type { KeyRecord } from '../domain/key.js'
import {
  findMaterial,
  materialsOf,
  pendingMaterial,
  withImportedMaterial,
  type ImportInfo,
} from '../domain/key-materials.js'
import { assertKeyState } from '../domain/key-state.js'
import type { ImportKeyMaterialInput } from '../wire/generated/model.js'
import type { Handler, OperationContext } from './context.js'
import { keyForImport, readExpiration, readMaterial } from './support/key-import.js'

type ImportType = 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL'

const NOT_THE_SAME =
  'The key material in the request is not the key material that was previously imported into this KMS key.'

/**
 * ImportType, KeyMaterialId and KeyMaterialDescription exist for symmetric encryption keys only;
 * "For asymmetric keys or HMAC keys with EXTERNAL origin ... AWS KMS will reject ImportKeyMaterial
 * API requests with the ImportType parameter" (Developer Guide, "Import key material", 2025-06).
 * A KeyMaterialId names material already imported, so it cannot go with NEW_KEY_MATERIAL.
 */
function checkImportOptions(key: KeyRecord, input: ImportKeyMaterialInput): void {
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    for (const member of ['ImportType', 'KeyMaterialId', 'KeyMaterialDescription'] as const) {
      if (input[member] !== undefined) {
        throw new ValidationException(
          `${member} can be specified only for symmetric encryption KMS keys.`,
        )
      }
    }
  }
  if (input.ImportType === 'NEW_KEY_MATERIAL' && input.KeyMaterialId !== undefined) {
    throw new ValidationException(
      'You cannot specify a KeyMaterialId when the ImportType is NEW_KEY_MATERIAL.',
    )
  }
}

/** The material inside the request, via the parameters its (valid, unexpired) token holds. */
async function unwrapRequest(
  ctx: OperationContext,
  req: { key: KeyRecord; input: ImportKeyMaterialInput },
): Promise<Buffer> {
  const parameters = await ctx.keys.openImportToken(req.input.ImportToken, req.key.arn)
  // A token of another key, of another Keyward, or altered: all the same answer.
  if (!parameters) {
    throw new InvalidImportTokenException('The import token is not valid for this KMS key.')
  }
  if (ctx.clock.now() >= parameters.expiresAt) {
    throw new ExpiredImportTokenException(
      'The import token has expired. Use GetParametersForImport to get a new wrapping key and import token.',
    )
  }
  try {
    const material = unwrapKeyMaterial({
      algorithm: parameters.wrappingAlgorithm,
      wrappingPrivateKey: parameters.wrappingPrivateKey,
      encrypted: req.input.EncryptedKeyMaterial,
    })
    // No reason given for a material that does not unwrap: no oracle (as Decrypt).
    if (!material) throw new InvalidCiphertextException()
    return material
  } finally {
    parameters.wrappingPrivateKey.fill(0)
  }
}

/**
 * Whether material `keyMaterialId` may be imported into `key` as `input` asks, against the
 * record read inside the transaction. The first material of a key is always taken, and binds
 * the key to it. After that:
 * - a key pair keeps its public key, and an HMAC key its one material: other material is
 *   IncorrectKeyMaterialException;
 * - a symmetric key takes EXISTING_KEY_MATERIAL (the default once it has material: LocalStack's
 *   AWS-validated tests) only for material it has, matching KeyMaterialId when one is given;
 *   and NEW_KEY_MATERIAL only for material it does not have, when no other one is pending
 *   rotation (AWS's recorded message names the key ARN).
 */
function checkAgainstKey(
  key: KeyRecord,
  req: { input: ImportKeyMaterialInput; keyMaterialId: string; publicKey?: Buffer },
): void {
  const { input, keyMaterialId } = req
  const known = findMaterial(key, keyMaterialId) !== undefined
  // A replica takes only the material of its primary, which it lists from the moment the
  // primary has it: "import the same key material into the primary key and into each of its
  // replicas … AWS KMS verifies that the key material is the same" (Developer Guide,
  // "Importing key material into multi-Region keys"). The same secret makes the same IDs.
  if (key.multiRegionConfiguration?.keyType === 'REPLICA' && !known) {
    throw new IncorrectKeyMaterialException(NOT_THE_SAME)
  }
  if (materialsOf(key).length === 0) {
    if (input.ImportType === 'EXISTING_KEY_MATERIAL')
      throw new IncorrectKeyMaterialException(NOT_THE_SAME)
    return
  }
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    const samePair = !req.publicKey || key.publicKey === req.publicKey.toString('base64')
    if (!known || !samePair) throw new IncorrectKeyMaterialException(NOT_THE_SAME)
    return
  }
  const importType: ImportType = input.ImportType ?? 'EXISTING_KEY_MATERIAL'
  if (importType === 'EXISTING_KEY_MATERIAL') {
    if (!known || (input.KeyMaterialId !== undefined && input.KeyMaterialId !== keyMaterialId)) {
      throw new IncorrectKeyMaterialException(NOT_THE_SAME)
    }
    return
  }
  if (known) {
    throw new IncorrectKeyMaterialException(
      `This key material (id: ${keyMaterialId}) is already associated with the KMS key. Import it with ImportType EXISTING_KEY_MATERIAL.`,
    )
  }
  const pending = pendingMaterial(key)
  if (pending) {
    // AWS's recording (aws-recorded-errors.md, ImportKeyMaterial, 2025-11-10) names the key by
    // the value its ImportKeyMaterial answers carry in KeyId, which is the key ARN.
    throw new KMSInvalidStateException(
      `New key material (id: ${keyMaterialId}) cannot be imported into KMS key ${key.arn}, because another key material (id: ${pending.keyMaterialId}) is pending rotation.`,
    )
  }
}

/**
 * ImportKeyMaterial (API Reference): unwraps the material with the wrapping key inside the
 * import token, checks it against the key spec and against what the key already has, then
 * stores it wrapped under the root key in one transaction. The KeyMaterialId of imported
 * material is derived from the material (KeyService.importedMaterialId), so importing the same
 * material again after deletion or expiry finds the same ID and the old ciphertexts decrypt
 * again. A key pending import whose materials are all imported becomes Enabled.
 *
 * Order of the checks: key and origin, key state, the request's own rules (expiration, import
 * options), token (InvalidImportTokenException, ExpiredImportTokenException), unwrap
 * (InvalidCiphertextException), material (IncorrectKeyMaterialException), the key's materials.
 */
export const importKeyMaterial: Handler<'ImportKeyMaterial'> = async (ctx, input) => {
  const key = await keyForImport(ctx, input.KeyId)
  assertKeyState(key, 'import')
  const expiration = readExpiration(input, ctx.clock.now())
  checkImportOptions(key, input)
  const bytes = await unwrapRequest(ctx, { key, input })
  try {
    const material = readMaterial(key, bytes)
    const keyMaterialId = await ctx.keys.importedMaterialId(key, material.identity)
    const info: ImportInfo = {
      importState: 'IMPORTED',
      ...expiration,
      ...(input.KeyMaterialDescription === undefined
        ? {}
        : { description: input.KeyMaterialDescription }),
    }
    try {
      await ctx.keys.mutate(key, async (current, tx) => {
        assertKeyState(current, 'import')
        checkAgainstKey(current, { input, keyMaterialId, publicKey: material.publicKey })
        await ctx.keys.storeMaterial(tx, current, { keyMaterialId, bytes: material.stored })
        const imported = withImportedMaterial(current, {
          keyMaterialId,
          at: ctx.clock.now(),
          info,
        })
        return material.publicKey
          ? { ...imported, publicKey: material.publicKey.toString('base64') }
          : imported
      })
    } finally {
      material.stored.fill(0)
    }
    // KeyMaterialId is reported for symmetric encryption keys only (as CurrentKeyMaterialId).
    return {
      KeyId: key.arn,
      KeyMaterialId: key.keySpec === 'SYMMETRIC_DEFAULT' ? keyMaterialId : undefined,
    }
  } finally {
    bytes.fill(0)
  }
}
