import { HsmConnectionError, isLostSession } from '../../adapters/pkcs11/hsm-errors.js'
import { HsmKeyNotFoundError, type Pkcs11Token } from '../../adapters/pkcs11/pkcs11-token.js'
import type { GcmKey } from '../../domain/ciphertext.js'
import type { CustomKeyStoreRecord } from '../../domain/custom-key-store.js'
import type { KeyRecord } from '../../domain/key.js'
import { KMSInvalidStateException } from '../../domain/errors/exceptions.js'
import type { OperationContext } from '../context.js'

/**
 * A key of a custom key store whose store is not connected is Unavailable (kms-api.md §3.3,
 * footnote [11]: "KMSInvalidStateException: <key ARN> is unavailable.").
 *
 * @example
 *   if (store?.connectionState !== 'CONNECTED') throw keyUnavailable(key)
 */
export const keyUnavailable = (key: KeyRecord) =>
  new KMSInvalidStateException(`${key.arn} is unavailable.`)

/** The HSM object of the key is gone (deleted on the token behind Keyward's back). */
const materialMissing = (key: KeyRecord) =>
  new KMSInvalidStateException(
    `${key.arn} is unavailable: its key material (the object labelled with the key ARN) is missing from CloudHSM cluster ${key.cloudHsmClusterId}.`,
  )

/**
 * Whether the key's custom key store is connected: what decides between the key's own state
 * and Unavailable (DescribeKey, and every cryptographic operation).
 *
 * @example
 *   const connected = (await storeOfKey(ctx, key))?.connectionState === 'CONNECTED'
 */
export async function storeOfKey(
  ctx: OperationContext,
  key: KeyRecord,
): Promise<CustomKeyStoreRecord | undefined> {
  if (key.customKeyStoreId === undefined) return undefined
  return ctx.customKeyStores.record(key.region, key.customKeyStoreId)
}

/** The logged-in token of a key's store, or KMSInvalidStateException "is unavailable". */
async function tokenOfKey(ctx: OperationContext, key: KeyRecord): Promise<Pkcs11Token> {
  const store = await storeOfKey(ctx, key)
  if (store?.connectionState !== 'CONNECTED' || store.customKeyStoreType !== 'AWS_CLOUDHSM') {
    throw keyUnavailable(key)
  }
  try {
    return await ctx.customKeyStores.tokenFor(store)
  } catch (cause) {
    if (cause instanceof HsmConnectionError) throw keyUnavailable(key)
    throw cause
  }
}

/** Turns failures of the HSM itself into AWS's answers; anything else passes through. */
function hsmFailure(key: KeyRecord, error: unknown): unknown {
  if (error instanceof HsmKeyNotFoundError) return materialMissing(key)
  if (error instanceof HsmConnectionError || isLostSession(error)) return keyUnavailable(key)
  return error
}

/**
 * The key's AES-256 key in its HSM, as a {@link GcmKey} for the ciphertext module, and the
 * predicate that tells the HSM's own failures from a tag that does not verify.
 *
 * @example
 *   const { gcm, isHsmFailure } = await hsmKeyOf(ctx, key)
 */
export async function hsmKeyOf(
  ctx: OperationContext,
  key: KeyRecord,
): Promise<{ gcm: GcmKey; isHsmFailure: (error: unknown) => boolean }> {
  const token = await tokenOfKey(ctx, key)
  const label = key.arn
  const gcm: GcmKey = {
    seal: (input) =>
      token.encryptGcm({ label, ...input }).catch((error: unknown) => {
        throw hsmFailure(key, error)
      }),
    open: (input) =>
      token.decryptGcm({ label, ...input }).catch((error: unknown) => {
        throw hsmFailure(key, error)
      }),
  }
  return { gcm, isHsmFailure: (error) => error instanceof KMSInvalidStateException }
}
