import { XksProxyError, type XksProxyClient } from '../../adapters/xks/xks-proxy-client.js'
import type { ExternalSealer, SealingKey } from '../../domain/ciphertext.js'
import type { KeyRecord } from '../../domain/key.js'
import { xksCryptoError } from '../../domain/xks-failures.js'
import { UnsupportedOperationException } from '../../domain/errors/exceptions.js'
import type { OperationContext } from '../context.js'
import { keyUnavailable, storeOfKey } from './hsm-keys.js'

/** Runs one proxy call, turning its failure into AWS's KMSInvalidStateException (xks.md §2.3). */
async function viaProxy<T>(key: KeyRecord, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof XksProxyError) throw xksCryptoError(error.failure, key.arn)
    throw error
  }
}

/** The outer layer of double encryption: the key's external key, through its store's proxy. */
function externalSealer(ctx: OperationContext, key: KeyRecord, client: XksProxyClient) {
  const xksKeyId = key.xksKeyId!
  // requestMetadata of Encrypt and Decrypt (XKS spec, "Request metadata": kmsRequestId,
  // kmsOperation, awsPrincipalArn and kmsKeyArn are required).
  const metadata = {
    kmsRequestId: ctx.requestId,
    kmsOperation: ctx.operation,
    awsPrincipalArn: ctx.caller.arn,
    kmsKeyArn: key.arn,
  }
  const sealer: ExternalSealer = {
    seal: ({ plaintext, aad }) =>
      viaProxy(key, () => client.encrypt(xksKeyId, { plaintext, aad, metadata })),
    open: (sealed) => viaProxy(key, () => client.decrypt(xksKeyId, { ...sealed, metadata })),
  }
  return sealer
}

/**
 * What double encryption under a key of an external key store needs: the key's own material
 * and the proxy of its CONNECTED store. A key whose store is not connected is Unavailable
 * (KMSInvalidStateException "… is unavailable.", as for CloudHSM key stores).
 *
 * @example
 *   const { sealing, external } = await externalSealerOf(ctx, key)
 */
export async function externalSealerOf(
  ctx: OperationContext,
  key: KeyRecord,
): Promise<{ sealing: SealingKey; external: ExternalSealer }> {
  const store = await storeOfKey(ctx, key)
  if (store?.connectionState !== 'CONNECTED' || store.customKeyStoreType !== 'EXTERNAL_KEY_STORE') {
    throw keyUnavailable(key)
  }
  const sealing = await ctx.keys.sealingKey(key)
  if (!sealing) throw new UnsupportedOperationException(`${key.arn} has no key material.`)
  const client = await ctx.customKeyStores.xksClient(store)
  return { sealing, external: externalSealer(ctx, key, client) }
}
