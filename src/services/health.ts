import type { KeyStore } from '../ports/key-store.js'
import type { AuditStatus } from '../ports/audit-sink.js'
import type { RootKey } from '../ports/root-key.js'

/**
 * Readiness: whether this process can serve KMS requests now (`GET /readyz`). Each check is a
 * named function that resolves when its dependency works and throws (with a message naming
 * what is wrong, never a secret) when it does not. The list is open: the audit trail adds
 * "audit writable" by passing one more check (KeywardOptions.readinessChecks).
 */
export interface ReadinessCheck {
  /** Short name shown in the answer (`store`, `rootKey`, `audit`). */
  readonly name: string
  check(): Promise<void>
}

/**
 * How long one check may take before it counts as failed: `/readyz` must answer within 50 ms
 * (issue 15) even when a store or an HSM hangs, and load balancers time out on slow probes.
 */
export const READINESS_CHECK_TIMEOUT_MS = 40

/** The result of every check, and whether all passed. */
export interface Readiness {
  readonly ready: boolean
  readonly checks: Readonly<Record<string, string>>
}

/**
 * Runs every check at once, each bounded by {@link READINESS_CHECK_TIMEOUT_MS}.
 *
 * @example
 *   const { ready, checks } = await checkReadiness(checks) // checks: { store: 'ok', … }
 */
export async function checkReadiness(
  checks: readonly ReadinessCheck[],
  options: { timeoutMs?: number } = {},
): Promise<Readiness> {
  const timeoutMs = options.timeoutMs ?? READINESS_CHECK_TIMEOUT_MS
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, string]> => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      })
      try {
        await Promise.race([c.check(), late])
        return [c.name, 'ok']
      } catch (error) {
        return [c.name, error instanceof Error ? error.message : String(error)]
      } finally {
        clearTimeout(timer)
      }
    }),
  )
  return {
    ready: results.every(([, result]) => result === 'ok'),
    checks: Object.fromEntries(results),
  }
}

/** The setting that records the root key's fingerprint (src/server.ts). */
const ROOT_KEY_SETTING = 'root_key_fingerprint'
const PROBE_CONTEXT = 'keyward readiness probe'

/**
 * The built-in checks: the store answers a read, and the root key is loaded, is the one the
 * database records, and wraps and unwraps (a PKCS#11 token that lost its session fails here).
 *
 * @example
 *   const checks = coreReadinessChecks({ store, rootKey })
 */
export function coreReadinessChecks(deps: { store: KeyStore; rootKey: RootKey }): ReadinessCheck[] {
  return [
    {
      name: 'store',
      check: async () => {
        const recorded = await deps.store.getSetting(ROOT_KEY_SETTING)
        if (recorded === undefined) throw new Error('the store records no root key')
      },
    },
    {
      name: 'rootKey',
      check: async () => {
        const rootKey = deps.rootKey
        const probe = Buffer.from(PROBE_CONTEXT)
        const opened = await rootKey.unwrap(await rootKey.wrap(probe, PROBE_CONTEXT), PROBE_CONTEXT)
        if (!opened.equals(probe)) throw new Error('the root key does not unwrap what it wrapped')
      },
    },
  ]
}

/**
 * "audit writable" for `GET /readyz`: a node whose audit trail cannot be written is not ready
 * (with `--audit-required` it refuses every call; without, it serves calls nobody can audit).
 *
 * @example
 *   const check = auditReadinessCheck(() => trail.status())
 */
export function auditReadinessCheck(status: () => AuditStatus): ReadinessCheck {
  return {
    name: 'audit',
    check: async () => {
      if (status().failed) throw new Error('the audit trail cannot be written')
    },
  }
}
