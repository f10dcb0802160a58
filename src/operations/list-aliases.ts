import { aliasArn } from '../domain/identifiers.js'
import type { Handler } from './context.js'
import { readPageRequest, toPageOutput } from './support/pagination.js'

/**
 * ListAliases: the aliases of the caller's account and Region, ordered by name, optionally
 * only those of one key (KeyId: key ID or key ARN), paged by Limit (1–100, default 50) and
 * Marker (API Reference, ListAliases). Keyward has no AWS managed keys, so no alias/aws/*
 * entries appear.
 */
export const listAliases: Handler<'ListAliases'> = async (ctx, input) => {
  const request = readPageRequest('ListAliases', input)
  const key =
    input.KeyId === undefined
      ? undefined
      : await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const page = await ctx.keys.listAliases(ctx.scope, {
    ...request,
    ...(key ? { keyId: key.keyId } : {}),
  })
  const out = toPageOutput('ListAliases', page, (alias) => alias.aliasName)
  return {
    Aliases: out.items.map((alias) => ({
      AliasName: alias.aliasName,
      AliasArn: aliasArn(ctx.scope, alias.aliasName),
      TargetKeyId: alias.targetKeyId,
      CreationDate: new Date(alias.creationDate),
      LastUpdatedDate: new Date(alias.lastUpdatedDate),
    })),
    Truncated: out.Truncated,
    NextMarker: out.NextMarker,
  }
}
