import type { Handler } from './context.js'
import { aliasNotFound } from '../domain/errors/messages.js'
import { aliasArn } from '../domain/identifiers.js'
import { assertAliasPrefix } from './support/aliases.js'

/**
 * DeleteAlias: removes an alias of the caller's account and Region; the key it pointed at is
 * not affected, whatever its state (API Reference, DeleteAlias; Developer Guide, "Key states":
 * DeleteAlias succeeds in every state).
 */
export const deleteAlias: Handler<'DeleteAlias'> = async (ctx, input) => {
  assertAliasPrefix(input.AliasName)
  await ctx.keys.changeAliases(async (tx) => {
    if (!(await tx.getAlias(ctx.scope, input.AliasName))) {
      throw aliasNotFound(aliasArn(ctx.scope, input.AliasName))
    }
    await tx.deleteAlias(ctx.scope, input.AliasName)
  })
  return {}
}
