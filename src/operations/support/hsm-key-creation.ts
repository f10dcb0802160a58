import { HsmConnectionError } from '../../adapters/pkcs11/hsm-errors.js'
import type { KeyRecord } from '../../domain/key.js'
import type { KeySpec, KeyUsage } from '../../domain/key-specs.js'
import {
  UnsupportedOperationException,
  ValidationException,
} from '../../domain/errors/exceptions.js'
import type { CreateKeyInput } from '../../wire/generated/model.js'
import type { OperationContext } from '../context.js'
import {
  customKeyStoreInvalidState,
  requireCustomKeyStore,
  wrongStoreType,
} from './custom-key-stores.js'

/**
 * CreateKey's rules for Origin AWS_CLOUDHSM (API Reference, CreateKey: "To create a KMS key in
 * an AWS CloudHSM key store, … specify the CustomKeyStoreId parameter … and set Origin to
 * AWS_CLOUDHSM"; "custom key stores support only symmetric encryption KMS keys", which are
 * single-Region).
 *
 * @example
 *   if (input.Origin === 'AWS_CLOUDHSM') assertCloudHsmKeyRequest(input, { keySpec, keyUsage })
 */
export function assertCloudHsmKeyRequest(
  input: CreateKeyInput,
  spec: { keySpec: KeySpec; keyUsage: KeyUsage },
): void {
  if (input.CustomKeyStoreId === undefined) {
    throw new ValidationException('CustomKeyStoreId is required when Origin is AWS_CLOUDHSM.')
  }
  assertCustomStoreKeySpec(input, spec)
}

/**
 * What every key of a custom key store must be: a single-Region SYMMETRIC_DEFAULT key for
 * ENCRYPT_DECRYPT (API Reference, CreateKey: "custom key stores support only symmetric
 * encryption KMS keys"; "You cannot create multi-Region keys in a custom key store").
 *
 * @example
 *   assertCustomStoreKeySpec(input, { keySpec, keyUsage })
 */
export function assertCustomStoreKeySpec(
  input: CreateKeyInput,
  spec: { keySpec: KeySpec; keyUsage: KeyUsage },
): void {
  if (spec.keySpec !== 'SYMMETRIC_DEFAULT' || spec.keyUsage !== 'ENCRYPT_DECRYPT') {
    throw new UnsupportedOperationException(
      `KeySpec ${spec.keySpec} is not supported for KMS keys in a custom key store: only SYMMETRIC_DEFAULT keys for ENCRYPT_DECRYPT.`,
    )
  }
  if (input.MultiRegion) {
    throw new UnsupportedOperationException(
      'Multi-Region keys cannot be created in a custom key store.',
    )
  }
}

/**
 * Creates the key's material inside the HSM of a CONNECTED store, as AWS does: a
 * non-extractable AES-256 key labelled with the key ARN (Developer Guide, "Creating a KMS key
 * in an AWS CloudHSM key store"), then stores the record. If storing fails, the new object is
 * destroyed again so the token keeps no orphan.
 *
 * @throws CustomKeyStoreNotFoundException, CustomKeyStoreInvalidStateException
 * @example
 *   const key = await createKeyInHsm(ctx, base, input.CustomKeyStoreId!)
 */
export async function createKeyInHsm(
  ctx: OperationContext,
  base: Omit<KeyRecord, 'keyState' | 'origin'>,
  customKeyStoreId: string,
): Promise<KeyRecord> {
  const store = await requireCustomKeyStore(ctx.keys, ctx.scope, customKeyStoreId)
  if (store.customKeyStoreType !== 'AWS_CLOUDHSM') throw wrongStoreType(store, 'AWS_CLOUDHSM')
  if (store.connectionState !== 'CONNECTED') {
    throw customKeyStoreInvalidState(store, 'Keys can be created only in a connected store.')
  }
  let token
  try {
    token = await ctx.customKeyStores.tokenFor(store)
  } catch (cause) {
    if (!(cause instanceof HsmConnectionError)) throw cause
    throw customKeyStoreInvalidState(store, 'Its HSM cannot be reached.')
  }
  const key: KeyRecord = {
    ...base,
    keyState: 'Enabled',
    origin: 'AWS_CLOUDHSM',
    customKeyStoreId: store.customKeyStoreId,
    cloudHsmClusterId: store.cloudHsmClusterId,
    currentKeyMaterialId: ctx.keys.newKeyMaterialId(),
  }
  await token.generateAesKey({ label: key.arn, id: key.keyId })
  try {
    await ctx.keys.create(key)
  } catch (error) {
    await token.destroyKey(key.arn).catch(() => undefined)
    throw error
  }
  return key
}
