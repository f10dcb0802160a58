import type { Handler } from './context.js'

/**
 * GetKeyLastUsage (API Reference, 2026-04): when and by which operation and request a key was
 * last used for cryptography, since tracking started. Key ID or key ARN only ("Alias names are
 * not supported"); every key state. KeyLastUsage is empty for a key not used since then.
 * CloudTrailEventId is the audit trail's eventID of that call, present when a trail recorded
 * it (`keyward serve` writes one unless --no-audit), as AWS's answer has one from CloudTrail.
 */
export const getKeyLastUsage: Handler<'GetKeyLastUsage'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const [use, trackingStart] = await Promise.all([
    ctx.keys.lastKeyUse(key.region, key.keyId),
    ctx.keys.keyUsageTrackingStart(),
  ])
  const since = Math.max(trackingStart ?? 0, key.creationDate)
  return {
    KeyId: key.arn,
    KeyLastUsage: use
      ? {
          Operation: use.operation,
          Timestamp: new Date(use.usedAt),
          ...(use.cloudTrailEventId ? { CloudTrailEventId: use.cloudTrailEventId } : {}),
          KmsRequestId: use.requestId,
        }
      : {},
    TrackingStartDate: new Date(since),
    KeyCreationDate: new Date(key.creationDate),
  }
}
