import { loadavg } from 'node:os'

/** One target of issue 10 as one run measured it. */
export interface TargetCheck {
  readonly target: string
  /** The figures the verdict rests on, e.g. "124 / 88 µs = 1.41×". */
  readonly measured: string
  /** Undefined when the run could not measure it. */
  readonly met: boolean | undefined
}

/** The machine's load average (1, 5, 15 min), the context every figure needs on a shared host. */
export const loadText = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

/**
 * Prints the summary table of targets with the load average; returns false when one was missed
 * (an unmeasured target counts as not missed).
 *
 * @example
 *   const ok = printTargetSummary([{ target: 'p99 < 5 ms', measured: '3.1 ms', met: true }])
 */
export function printTargetSummary(checks: readonly TargetCheck[]): boolean {
  console.log(`\nTargets (issue 10), load average now ${loadText()} (1, 5, 15 min):`)
  const width = (pick: (c: TargetCheck) => string, title: string) =>
    Math.max(title.length, ...checks.map((c) => pick(c).length))
  const w1 = width((c) => c.target, 'target')
  const w2 = width((c) => c.measured, 'measured')
  const line = (a: string, b: string, c: string) => `  ${a.padEnd(w1)}  ${b.padEnd(w2)}  ${c}`
  console.log(line('target', 'measured', 'result'))
  console.log(line('-'.repeat(w1), '-'.repeat(w2), '------'))
  for (const c of checks) {
    console.log(line(c.target, c.measured, c.met === undefined ? '-' : c.met ? 'MET' : 'MISSED'))
  }
  return checks.every((c) => c.met !== false)
}
