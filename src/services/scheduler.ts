import { expiredMaterials, withMaterialsDeleted } from '../domain/key-materials.js'
import { isRotationDue, nextScheduleAfterRotation } from '../domain/key-rotation.js'
import { inCustomKeyStore } from '../domain/key-origins.js'
import type { KeyRecord } from '../domain/key.js'
import type { Clock } from '../ports/clock.js'
import type { KeyStore, KeyStoreTransaction } from '../ports/key-store.js'
import type { Logger } from '../ports/logger.js'
import { usedKey, type ReportServiceEvent } from './service-events.js'
import type { KeyService } from './key-service.js'
import { settle } from './multi-region-keys.js'

/** A job the scheduler runs on every tick; it must be idempotent and safe to run late. */
export type ScheduledJob = (now: number) => Promise<number>

/**
 * Runs due work: once at start-up (catching up on whatever fell due while Keyward was down),
 * then every `intervalMs` (default one minute). A tick never overlaps the previous one.
 * Reads never do this work as a side effect: only the scheduler does.
 */
export class Scheduler {
  readonly #jobs: ReadonlyArray<{ name: string; run: ScheduledJob }>
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #intervalMs: number
  readonly #onRun: ((job: string, outcome: { failed: boolean }) => void) | undefined
  readonly #exclusive: NonNullable<KeyStore['exclusive']> | undefined
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor(deps: {
    jobs: ReadonlyArray<{ name: string; run: ScheduledJob }>
    clock: Clock
    logger: Logger
    intervalMs?: number
    /** Told of every run of a job (the scheduler metrics, KeywardMetrics.jobRan). */
    onRun?: (job: string, outcome: { failed: boolean }) => void
    /** Runs a job only where no other node runs it now (KeyStore.exclusive). */
    exclusive?: KeyStore['exclusive']
  }) {
    this.#onRun = deps.onRun
    this.#jobs = deps.jobs
    this.#clock = deps.clock
    this.#logger = deps.logger
    this.#intervalMs = deps.intervalMs ?? 60_000
    this.#exclusive = deps.exclusive
  }

  /** Runs every job once now; resolves when they are done. */
  runOnce(): Promise<void> {
    this.#running ??= this.#tick().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  async #tick(): Promise<void> {
    for (const job of this.#jobs) {
      try {
        const run = () => job.run(this.#clock.now())
        // Several nodes over one database: one of them runs each job per tick, the others
        // skip it; a later tick of any node runs it if the holder died.
        const done = (this.#exclusive ? await this.#exclusive(job.name, run) : await run()) ?? 0
        if (done > 0) this.#logger.info(`scheduler: ${job.name}`, { count: done })
        this.#onRun?.(job.name, { failed: false })
      } catch (error) {
        this.#logger.error(`scheduler: ${job.name} failed`, { cause: String(error) })
        this.#onRun?.(job.name, { failed: true })
      }
    }
  }

  start(): void {
    void this.runOnce()
    this.#timer = setInterval(() => void this.runOnce(), this.#intervalMs)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#running
  }
}

/**
 * Deletes every key whose waiting period has ended, with its material and aliases
 * (API Reference, ScheduleKeyDeletion: "KMS deletes the KMS key" when the window ends).
 */
export function keyDeletionJob(
  keys: KeyService,
  options: {
    /**
     * Called with each deleted key that lived in a custom key store, to destroy its object in
     * the HSM ("AWS KMS makes a best effort to delete the key material from the associated
     * AWS CloudHSM cluster", API Reference, ScheduleKeyDeletion).
     */
    destroyHsmMaterial?: (key: KeyRecord) => Promise<void>
    /** The audit trail's `DeleteKey` service event of each deleted key. */
    report?: ReportServiceEvent
  } = {},
): ScheduledJob {
  return async (now) => {
    const due = await keys.listKeysDueForDeletion(now)
    for (const { region, keyId } of due) {
      const key = await keys.findKey(region, keyId)
      const deleted = await keys.destroy(region, keyId)
      if (deleted && key) {
        options.report?.({
          eventName: 'DeleteKey',
          region,
          accountId: key.accountId,
          keys: [usedKey(key)],
        })
      }
      if (deleted && key && inCustomKeyStore(key.origin)) await options.destroyHsmMaterial?.(key)
    }
    return due.length
  }
}

/**
 * Applies `change` to each listed key in its own transaction (KeyService.mutate re-reads the
 * record, so a change made since the listing is seen). A key deleted meanwhile is skipped.
 * Returns how many keys changed.
 */
async function changeEach(
  keys: KeyService,
  due: ReadonlyArray<{ region: string; keyId: string }>,
  change: (current: KeyRecord, tx: KeyStoreTransaction) => Promise<KeyRecord>,
  onChanged: (before: KeyRecord, after: KeyRecord) => void = () => {},
): Promise<number> {
  let changed = 0
  for (const { region, keyId } of due) {
    const key = await keys.findKey(region, keyId)
    if (!key) continue
    let done: { before: KeyRecord; after: KeyRecord } | undefined
    await keys.mutate(key, async (current, tx) => {
      const next = await change(current, tx)
      done = next !== current ? { before: current, after: next } : undefined
      return next
    })
    // Reported only once committed: a rolled-back change is no event.
    if (done) {
      changed++
      onChanged(done.before, done.after)
    }
  }
  return changed
}

/**
 * Rotates every Enabled key whose automatic rotation is due (API Reference, EnableKeyRotation).
 * The condition is checked again inside each key's transaction, so a DisableKeyRotation or
 * DisableKey that committed after the listing wins. After downtime a key rotates once, and its
 * next rotation is one period after this one (src/domain/key-rotation.ts).
 */
export function keyRotationJob(
  keys: KeyService,
  options: { report?: ReportServiceEvent } = {},
): ScheduledJob {
  return async (now) => {
    const due = await keys.listKeysDueForRotation(now)
    return changeEach(
      keys,
      due,
      async (current, tx) => {
        // A replica rotates with its primary, in the primary's transaction (syncReplicas).
        if (current.multiRegionConfiguration?.keyType === 'REPLICA') return current
        if (!isRotationDue(current, now)) return current
        const rotated = await keys.rotateToNewMaterial(tx, current, { type: 'AUTOMATIC' })
        return nextScheduleAfterRotation(rotated, now)
      },
      (_before, after) =>
        options.report?.({
          eventName: 'RotateKey',
          region: after.region,
          accountId: after.accountId,
          keys: [usedKey(after)],
          details: {
            rotationType: 'AUTOMATIC',
            ...(after.currentKeyMaterialId ? { keyMaterialId: after.currentKeyMaterialId } : {}),
          },
        }),
    )
  }
}

/**
 * Deletes imported material whose ValidTo has passed: "When the key material expires, AWS KMS
 * deletes the key material and the KMS key becomes unusable" (Developer Guide, "Importing key
 * material"). The key becomes PendingImport (a key pending deletion stays so) until the same
 * material is imported again.
 */
export function importedMaterialExpiryJob(
  keys: KeyService,
  options: { report?: ReportServiceEvent } = {},
): ScheduledJob {
  return async (now) => {
    const due = await keys.listKeysWithExpiredMaterial(now)
    return changeEach(
      keys,
      due,
      async (current, tx) => {
        const expired = expiredMaterials(current, now)
        if (expired.length === 0) return current
        for (const keyMaterialId of expired) await keys.dropMaterial(tx, current, keyMaterialId)
        return withMaterialsDeleted(current, expired)
      },
      (before) => {
        for (const keyMaterialId of expiredMaterials(before, now)) {
          options.report?.({
            eventName: 'DeleteExpiredKeyMaterial',
            region: before.region,
            accountId: before.accountId,
            keys: [usedKey(before)],
            details: { keyMaterialId },
          })
        }
      },
    )
  }
}

/**
 * Ends the transient states a crash left behind: a replica that ReplicateKey made but did not
 * yet move out of Creating, keys that UpdatePrimaryRegion left Updating. The record names the
 * state each settles in (src/services/multi-region-keys.ts).
 */
export function transientStateJob(keys: KeyService): ScheduledJob {
  return async () => {
    let settled = 0
    for (const key of await keys.listKeysInTransientStates()) {
      if (await settle(keys, key)) settled++
    }
    return settled
  }
}
