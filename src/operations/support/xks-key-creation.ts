import { XksProxyError } from '../../adapters/xks/xks-proxy-client.js'
import { generateKeyMaterial } from '../../crypto/index.js'
import type { KeyRecord } from '../../domain/key.js'
import { KEY_SPECS, type KeySpec, type KeyUsage } from '../../domain/key-specs.js'
import { xksCreateKeyError, xksKeyInvalidConfiguration } from '../../domain/xks-failures.js'
import type { KeyStoreTransaction } from '../../ports/key-store.js'
import { ValidationException, XksKeyAlreadyInUseException } from '../../domain/errors/exceptions.js'
import type { CreateKeyInput } from '../../wire/generated/model.js'
import type { OperationContext } from '../context.js'
import {
  customKeyStoreInvalidState,
  requireCustomKeyStore,
  wrongStoreType,
} from './custom-key-stores.js'
import { assertCustomStoreKeySpec } from './hsm-key-creation.js'

/**
 * CreateKey's rules for Origin EXTERNAL_KEY_STORE (API Reference, CreateKey: "To create a KMS
 * key in an external key store, use the CustomKeyStoreId parameter … set Origin to
 * EXTERNAL_KEY_STORE … and use the XksKeyId parameter"; external key stores hold only
 * symmetric encryption keys, single-Region).
 *
 * @example
 *   if (input.Origin === 'EXTERNAL_KEY_STORE') assertXksKeyRequest(input, { keySpec, keyUsage })
 */
export function assertXksKeyRequest(
  input: CreateKeyInput,
  spec: { keySpec: KeySpec; keyUsage: KeyUsage },
): void {
  if (input.CustomKeyStoreId === undefined) {
    throw new ValidationException('CustomKeyStoreId is required when Origin is EXTERNAL_KEY_STORE.')
  }
  if (input.XksKeyId === undefined) {
    throw new ValidationException('XksKeyId is required when Origin is EXTERNAL_KEY_STORE.')
  }
  assertCustomStoreKeySpec(input, spec)
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
 * Creates a key of an external key store: the store must be CONNECTED, the external key
 * unused by another key of the store, and the proxy's GetKeyMetadata must describe an enabled
 * AES_256 key that can ENCRYPT and DECRYPT (XKS spec, GetKeyMetadata: "AWS KMS … will fail the
 * CreateKey request" otherwise). The key also gets material of its own, wrapped under the root
 * key, for the inner layer of double encryption (Developer Guide, "Double encryption").
 *
 * @example
 *   const key = await createKeyInExternalStore(ctx, base, input)
 */
export async function createKeyInExternalStore(
  ctx: OperationContext,
  base: Omit<KeyRecord, 'keyState' | 'origin'>,
  input: CreateKeyInput,
): Promise<KeyRecord> {
  const store = await requireCustomKeyStore(ctx.keys, ctx.scope, input.CustomKeyStoreId!)
  if (store.customKeyStoreType !== 'EXTERNAL_KEY_STORE') {
    throw wrongStoreType(store, 'EXTERNAL_KEY_STORE')
  }
  if (store.connectionState !== 'CONNECTED') {
    throw customKeyStoreInvalidState(store, 'Keys can be created only in a connected store.')
  }
  const ids = { region: store.region, customKeyStoreId: store.customKeyStoreId }
  const xksKeyId = input.XksKeyId!
  await assertXksKeyFree(ctx.keys, { ...ids, xksKeyId })
  try {
    const client = await ctx.customKeyStores.xksClient(store)
    const metadata = await client.keyMetadata(xksKeyId, {
      kmsRequestId: ctx.requestId,
      kmsOperation: 'CreateKey',
      awsPrincipalArn: ctx.caller.arn,
    })
    const usable =
      metadata.keySpec === 'AES_256' &&
      metadata.keyUsage.includes('ENCRYPT') &&
      metadata.keyUsage.includes('DECRYPT') &&
      metadata.keyStatus === 'ENABLED'
    if (!usable) throw xksKeyInvalidConfiguration()
  } catch (error) {
    if (!(error instanceof XksProxyError)) throw error
    throw xksCreateKeyError(error.failure, { ...ids, xksKeyId })
  }
  const generated = await generateKeyMaterial(KEY_SPECS.SYMMETRIC_DEFAULT.material, ctx.random)
  const keyMaterialId = ctx.keys.newKeyMaterialId()
  const key: KeyRecord = {
    ...base,
    keyState: 'Enabled',
    origin: 'EXTERNAL_KEY_STORE',
    customKeyStoreId: store.customKeyStoreId,
    xksKeyId,
    currentKeyMaterialId: keyMaterialId,
  }
  await ctx.keys.create(
    key,
    { keyMaterialId, bytes: generated.privateKey },
    { check: (tx) => assertXksKeyFree(tx, { ...ids, xksKeyId }) },
  )
  return key
}
