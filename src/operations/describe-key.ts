import { toKeyMetadata } from '../domain/key.js'
import { inCustomKeyStore } from '../domain/key-origins.js'
import type { Handler } from './context.js'
import { storeOfKey } from './support/key-backends.js'

/**
 * DescribeKey: works in every key state and accepts aliases (API Reference, DescribeKey). A key
 * of a custom key store that is not connected describes as Unavailable, unless it is pending
 * deletion, which it stays (kms-api.md §3.3).
 */
export const describeKey: Handler<'DescribeKey'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idArnOrAlias' })
  const metadata = toKeyMetadata(key)
  if (inCustomKeyStore(key.origin) && key.keyState !== 'PendingDeletion') {
    const store = await storeOfKey(ctx, key)
    if (store?.connectionState !== 'CONNECTED') {
      return { KeyMetadata: { ...metadata, KeyState: 'Unavailable' } }
    }
  }
  return { KeyMetadata: metadata }
}
