import { stopIfDryRun, type Handler } from './context.js'
import { grantNotFound, readGrantId, refuseAlias } from './support/grants.js'

/**
 * RevokeGrant (API Reference, RevokeGrant; Developer Guide, "Retiring and revoking grants"):
 * deletes a grant of a key, named by KeyId (key ID or key ARN) and GrantId, in any key state.
 * Who may revoke is decided like any key operation (kms:RevokeGrant), when the key resolves.
 */
export const revokeGrant: Handler<'RevokeGrant'> = async (ctx, input) => {
  const grantId = readGrantId(input.GrantId)
  refuseAlias(input.KeyId)
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const grant = await ctx.keys.findGrant(grantId)
  if (!grant || grant.region !== key.region || grant.keyId !== key.keyId) {
    throw grantNotFound(grantId)
  }
  stopIfDryRun(input)
  if (!(await ctx.keys.deleteGrant(grant))) throw grantNotFound(grantId)
  return {}
}
