import { LimitExceededException, ValidationException } from '../domain/errors/exceptions.js'
import type { KeyRecord } from '../domain/key.js'
import { KEY_SPECS } from '../domain/key-specs.js'
import { assertKeyState } from '../domain/key-state.js'
import type { Handler } from './context.js'
import { aliasNotFound, keyNotFound } from '../domain/errors/messages.js'
import { aliasArn } from '../domain/identifiers.js'
import { assertAliasPrefix } from './support/aliases.js'

/** The three key types UpdateAlias distinguishes: symmetric encryption, HMAC, asymmetric. */
function keyType(key: KeyRecord): 'symmetric' | 'HMAC' | 'asymmetric' {
  if (key.keySpec === 'SYMMETRIC_DEFAULT') return 'symmetric'
  return KEY_SPECS[key.keySpec].macAlgorithms.length > 0 ? 'HMAC' : 'asymmetric'
}

/**
 * "The current and new KMS key must be the same type (both symmetric or both asymmetric or
 * both HMAC), and they must have the same key usage. This restriction prevents errors in code
 * that uses aliases." (API Reference, UpdateAlias). The model has no exception for it, so it
 * is a ValidationException, which every operation can send.
 */
function assertSameKind(current: KeyRecord, next: KeyRecord): void {
  if (keyType(current) !== keyType(next) || current.keyUsage !== next.keyUsage) {
    const kind = (k: KeyRecord) => `${k.arn} (${keyType(k)}, ${k.keyUsage})`
    throw new ValidationException(
      `The new target ${kind(next)} must have the same key type and key usage as the current target ${kind(current)}.`,
    )
  }
}

/**
 * UpdateAlias: points an existing alias at another key of the same type and key usage (API
 * Reference, UpdateAlias). The new target may not be pending deletion (Developer Guide, "Key
 * states", footnote [10]); the current one may. An alias cannot be renamed.
 */
export const updateAlias: Handler<'UpdateAlias'> = async (ctx, input) => {
  const name = input.AliasName
  assertAliasPrefix(name)
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.TargetKeyId, accept: 'idOrArn' })
  await ctx.keys.changeAliases(async (tx) => {
    const alias = await tx.getAlias(ctx.scope, name)
    if (!alias) throw aliasNotFound(aliasArn(ctx.scope, name))
    const next = await tx.getKey(key.region, key.keyId)
    if (!next) throw keyNotFound(key.arn)
    assertKeyState(next, 'manage')
    const current = await tx.getKey(alias.region, alias.targetKeyId)
    if (current) assertSameKind(current, next)
    if (alias.targetKeyId === next.keyId) return
    if ((await tx.countAliases(next.region, next.keyId)) >= ctx.keys.quotas.aliasesPerKey) {
      throw new LimitExceededException(
        `${next.arn} already has ${ctx.keys.quotas.aliasesPerKey} aliases, the maximum number of aliases per KMS key.`,
      )
    }
    await tx.updateAlias({ ...alias, targetKeyId: next.keyId, lastUpdatedDate: ctx.clock.now() })
  })
  return {}
}
