import { AlreadyExistsException, LimitExceededException } from '../domain/errors/exceptions.js'
import { keyNotFound } from '../domain/errors/messages.js'
import { aliasArn } from '../domain/identifiers.js'
import { assertKeyState } from '../domain/key-state.js'
import type { Handler } from './context.js'
import { assertNewAliasName } from './support/aliases.js'

/**
 * CreateAlias: a new name for a customer managed key of the caller's account and Region
 * (API Reference, CreateAlias). TargetKeyId is a key ID or key ARN, never an alias. Refused
 * when the name exists ("An alias with the name <alias ARN> already exists"), when the key
 * already has 50 aliases, and while the key is pending deletion (Developer Guide, "Key
 * states", footnote [3]).
 */
export const createAlias: Handler<'CreateAlias'> = async (ctx, input) => {
  const name = input.AliasName
  assertNewAliasName(name)
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.TargetKeyId, accept: 'idOrArn' })
  await ctx.keys.changeAliases(async (tx) => {
    const target = await tx.getKey(key.region, key.keyId)
    if (!target) throw keyNotFound(key.arn)
    assertKeyState(target, 'manage')
    const taken = () =>
      new AlreadyExistsException(
        `An alias with the name ${aliasArn(ctx.scope, name)} already exists`,
      )
    if (await tx.getAlias(ctx.scope, name)) throw taken()
    if ((await tx.countAliases(target.region, target.keyId)) >= ctx.keys.quotas.aliasesPerKey) {
      throw new LimitExceededException(
        `${target.arn} already has ${ctx.keys.quotas.aliasesPerKey} aliases, the maximum number of aliases per KMS key.`,
      )
    }
    const now = ctx.clock.now()
    const inserted = await tx.insertAlias({
      accountId: ctx.scope.accountId,
      region: ctx.scope.region,
      aliasName: name,
      targetKeyId: target.keyId,
      creationDate: now,
      lastUpdatedDate: now,
    })
    if (!inserted) throw taken()
  })
  return {}
}
