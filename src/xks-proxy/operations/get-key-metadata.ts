import type { XksOperationContext } from './context.js'

/** GetKeyMetadata's answer (spec v1.0.3). */
export interface GetKeyMetadataOutput {
  readonly keySpec: string
  /** At most ten values; ENCRYPT and DECRYPT upper case. */
  readonly keyUsage: readonly string[]
  /** ENABLED or DISABLED. */
  readonly keyStatus: 'ENABLED' | 'DISABLED'
}

/**
 * GetKeyMetadata: the key's spec, usages and status. KMS's CreateKey needs AES_256, both
 * ENCRYPT and DECRYPT, and ENABLED; the proxy reports what is there and lets KMS judge.
 *
 * @example
 *   await getKeyMetadata(ctx, 'foo') // { keySpec: 'AES_256', keyUsage: ['ENCRYPT','DECRYPT'], keyStatus: 'ENABLED' }
 */
export async function getKeyMetadata(
  ctx: XksOperationContext,
  keyId: string,
): Promise<GetKeyMetadataOutput> {
  const info = await ctx.keyManager.describeKey(keyId)
  const { disabled } = await ctx.store.snapshot()
  return {
    keySpec: info.keySpec,
    keyUsage: info.keyUsage.slice(0, 10),
    keyStatus: disabled.has(keyId) ? 'DISABLED' : 'ENABLED',
  }
}
