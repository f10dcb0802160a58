import type { KeyRecord } from '../../domain/key.js'
import { KEY_ORIGINS, originOf } from '../../domain/key-origins.js'
import type { KeySpec, KeyUsage } from '../../domain/key-specs.js'
import type { KeyStoreTransaction } from '../../ports/key-store.js'
import {
  UnsupportedOperationException,
  ValidationException,
  XksKeyAlreadyInUseException,
} from '../../domain/errors/exceptions.js'
import type { CreateKeyInput } from '../../wire/generated/model.js'
import type { OperationContext } from '../context.js'
import {
  customKeyStoreInvalidState,
  requireCustomKeyStore,
  wrongStoreType,
} from './custom-key-stores.js'
import { backendCall, whileReachable } from './key-backends.js'

/**
 * CreateKey's rules for the origins of custom key stores (API Reference, CreateKey: "To create
 * a KMS key in an AWS CloudHSM key store, … specify the CustomKeyStoreId parameter … and set
 * Origin to AWS_CLOUDHSM"; "To create a KMS key in an external key store, use the
 * CustomKeyStoreId parameter … set Origin to EXTERNAL_KEY_STORE … and use the XksKeyId
 * parameter"; "custom key stores support only symmetric encryption KMS keys", which are
 * single-Region).
 *
 * @example
 *   if (inCustomKeyStore(origin)) assertCustomStoreKeyRequest(input, { keySpec, keyUsage })
 */
export function assertCustomStoreKeyRequest(
  input: CreateKeyInput,
  spec: { keySpec: KeySpec; keyUsage: KeyUsage },
): void {
  const origin = originOf(input)
  if (input.CustomKeyStoreId === undefined) {
    throw new ValidationException(`CustomKeyStoreId is required when Origin is ${origin}.`)
  }
  if (KEY_ORIGINS[origin].takesXksKeyId && input.XksKeyId === undefined) {
    throw new ValidationException(`XksKeyId is required when Origin is ${origin}.`)
  }
  assertCustomStoreKeySpec(input, spec)
}

/**
 * What every key of a custom key store must be: a single-Region SYMMETRIC_DEFAULT key for
 * ENCRYPT_DECRYPT (API Reference, CreateKey: "custom key stores support only symmetric
 * encryption KMS keys"; "You cannot create multi-Region keys in a custom key store").
 */
function assertCustomStoreKeySpec(
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

/** Two KMS keys of one store may not share an external key (XksKeyAlreadyInUseException). */
async function assertXksKeyFree(
  tx: Pick<KeyStoreTransaction, 'listKeysInCustomKeyStore'>,
  key: { region: string; customKeyStoreId: string; xksKeyId: string },
): Promise<void> {
  const keys = await tx.listKeysInCustomKeyStore(key.region, key.customKeyStoreId)
  if (keys.some((k) => k.xksKeyId === key.xksKeyId)) {
    throw new XksKeyAlreadyInUseException(
      'The request was rejected because the (XksKeyId) is already associated with another KMS key in this external key store. Each KMS key in your external key store must be associated with a different external key.',
    )
  }
}

/**
 * Creates a key in a custom key store, through the backend the origin table names: the store
 * must be the caller's, of the origin's type, and CONNECTED; an external key must be unused by
 * another key of the store. The backend then makes the material: a non-extractable AES-256
 * key labelled with the key ARN in the HSM (Developer Guide, "Creating a KMS key in an AWS
 * CloudHSM key store"), or, behind an XKS proxy whose GetKeyMetadata describes a usable
 * external key, material of Keyward's own for the inner layer of double encryption
 * (Developer Guide, "Double encryption"). If storing the record fails, the backend destroys
 * what it made, so a token keeps no orphan.
 *
 * @throws CustomKeyStoreNotFoundException, CustomKeyStoreInvalidStateException
 * @example
 *   const key = await createKeyInCustomKeyStore(ctx, base, input)
 */
export async function createKeyInCustomKeyStore(
  ctx: OperationContext,
  base: Omit<KeyRecord, 'keyState' | 'origin'>,
  input: CreateKeyInput,
): Promise<KeyRecord> {
  const origin = originOf(input)
  const capabilities = KEY_ORIGINS[origin]
  const store = await requireCustomKeyStore(ctx.keys, ctx.scope, input.CustomKeyStoreId!)
  if (store.customKeyStoreType !== capabilities.customKeyStoreType) {
    throw wrongStoreType(store, origin)
  }
  if (store.connectionState !== 'CONNECTED') {
    throw customKeyStoreInvalidState(store, 'Keys can be created only in a connected store.')
  }
  const ids = { region: store.region, customKeyStoreId: store.customKeyStoreId }
  const xksKeyId = input.XksKeyId
  if (xksKeyId !== undefined) await assertXksKeyFree(ctx.keys, { ...ids, xksKeyId })
  const key: KeyRecord = {
    ...base,
    keyState: 'Enabled',
    origin,
    customKeyStoreId: store.customKeyStoreId,
    ...(store.customKeyStoreType === 'AWS_CLOUDHSM'
      ? { cloudHsmClusterId: store.cloudHsmClusterId }
      : {}),
    ...(xksKeyId !== undefined ? { xksKeyId } : {}),
    currentKeyMaterialId: ctx.keys.newKeyMaterialId(),
  }
  const backend = ctx.backends[capabilities.backend]
  const generated = await whileReachable(ctx, store, {
    run: () => backend.generate(key, { store, call: backendCall(ctx) }),
    unreachable: () => customKeyStoreInvalidState(store, 'Its HSM cannot be reached.'),
  })
  try {
    await ctx.keys.create(
      key,
      generated.bytes && { keyMaterialId: key.currentKeyMaterialId!, bytes: generated.bytes },
      xksKeyId === undefined
        ? undefined
        : { check: (tx) => assertXksKeyFree(tx, { ...ids, xksKeyId }) },
    )
  } catch (error) {
    await backend.destroy(key, { store }).catch(() => undefined)
    throw error
  }
  return key
}
