/** The time, injected so that tests can move it (deletion windows are days long). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => Date.now() }

/**
 * A clock that only moves when told to, for tests.
 *
 * @example
 *   const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'))
 *   clock.advance(30 * 86_400_000)
 */
export class ManualClock implements Clock {
  #now: number
  constructor(start = Date.now()) {
    this.#now = start
  }
  now(): number {
    return this.#now
  }
  advance(ms: number): void {
    this.#now += ms
  }
}
