import { PROXY_MODEL, PROXY_VENDOR } from '../version.js'
import type { XksOperationContext } from './context.js'

/** GetHealthStatus's answer (spec v1.0.3). */
export interface GetHealthStatusOutput {
  readonly xksProxyFleetSize: number
  readonly xksProxyVendor: string
  readonly xksProxyModel: string
  readonly ekmVendor: string
  /** One to ten entries. */
  readonly ekmFleetDetails: ReadonlyArray<{ id: string; model: string; healthStatus: string }>
}

/**
 * GetHealthStatus: who this proxy is and how the key manager behind it is doing, from the
 * deep, cached check of health.ts. A failed check is still a 200 answer, with the key manager
 * UNAVAILABLE: that is how the spec lets KMS know.
 *
 * @example
 *   const status = await getHealthStatus(ctx)
 */
export async function getHealthStatus(ctx: XksOperationContext): Promise<GetHealthStatusOutput> {
  const result = await ctx.health.current()
  return {
    xksProxyFleetSize: ctx.fleetSize,
    xksProxyVendor: PROXY_VENDOR,
    xksProxyModel: PROXY_MODEL,
    ekmVendor: result.ekm.vendor,
    ekmFleetDetails: [
      { id: result.ekm.id, model: result.ekm.model, healthStatus: result.healthStatus },
    ],
  }
}
