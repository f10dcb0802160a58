import type { XksHealthMetrics } from '../services/custom-key-stores.js'

/**
 * `GET /metrics`: what Keyward measures, in the Prometheus text exposition format (version
 * 0.0.4). So far this is the health poll of external key store proxies (issue 6: "a periodic
 * health poll feeds metrics"). Store IDs and Regions are the only labels: no key material,
 * no secrets, no caller data.
 */

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')

/**
 * Renders the metrics.
 *
 * @example
 *   res.end(renderMetrics({ xksHealth: customKeyStores.xksHealthMetrics() }))
 */
export function renderMetrics(input: { xksHealth: readonly XksHealthMetrics[] }): string {
  const lines: string[] = []
  const family = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    value: (m: XksHealthMetrics) => number | undefined,
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const m of input.xksHealth) {
      const v = value(m)
      if (v === undefined) continue
      const labels = `custom_key_store_id="${escapeLabel(m.customKeyStoreId)}",region="${escapeLabel(m.region)}"`
      lines.push(`${name}{${labels}} ${v}`)
    }
  }
  family(
    'keyward_xks_health_checks_total',
    'counter',
    'GetHealthStatus polls of the proxy of a connected external key store.',
    (m) => m.checks,
  )
  family(
    'keyward_xks_health_check_failures_total',
    'counter',
    'Polls that failed (no answer in time, an error, or an answer that is not the XKS API).',
    (m) => m.failures,
  )
  family(
    'keyward_xks_health_consecutive_failures',
    'gauge',
    'Polls failed in a row since the last good one.',
    (m) => m.consecutiveFailures,
  )
  family('keyward_xks_health_last_latency_seconds', 'gauge', 'How long the last poll took.', (m) =>
    m.lastLatencyMs === undefined ? undefined : m.lastLatencyMs / 1000,
  )
  lines.push(
    '# HELP keyward_xks_health_status The last poll: ACTIVE, DEGRADED, or the ConnectionErrorCode of the failure.',
    '# TYPE keyward_xks_health_status gauge',
  )
  for (const m of input.xksHealth) {
    if (m.lastStatus === undefined) continue
    lines.push(
      `keyward_xks_health_status{custom_key_store_id="${escapeLabel(m.customKeyStoreId)}",region="${escapeLabel(m.region)}",status="${escapeLabel(m.lastStatus)}"} 1`,
    )
  }
  return lines.join('\n') + '\n'
}
