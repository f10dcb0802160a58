import { toKeyMetadata } from '../domain/key.js'
import type { Handler } from './context.js'

/** DescribeKey: works in every key state and accepts aliases (API Reference, DescribeKey). */
export const describeKey: Handler<'DescribeKey'> = async (ctx, input) => {
  const key = await ctx.keys.resolve(ctx.caller, ctx.region, input.KeyId, 'idArnOrAlias')
  return { KeyMetadata: toKeyMetadata(key) }
}
