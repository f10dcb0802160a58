import { readFileSync } from 'node:fs'

/** The parts of a V8 .cpuprofile (written by `node --cpu-prof`) the summary reads. */
interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: { functionName: string; url: string; lineNumber: number }
    readonly children?: readonly number[]
  }>
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

/** Self time of one function or file. */
export interface HotSpot {
  readonly name: string
  readonly ms: number
  /** Share of the busy (non-idle) time. */
  readonly percent: number
}

const shortUrl = (url: string, root: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(root, '')
    .replace(/^.*\/node_modules\//, 'node_modules/') || '(native)'

/**
 * From a .cpuprofile: self time by function and by file, and the inclusive time (self plus
 * callees) of the project's own functions (`ownPrefix`, e.g. 'dist/src/'), busiest first.
 * `(idle)` is left out, so the shares are of the time the process was working.
 *
 * @example
 *   const s = summarizeCpuProfile('CPU.123.cpuprofile', { root: '/work/main/', ownPrefix: 'dist/src/' })
 */
export function summarizeCpuProfile(
  path: string,
  options: { root: string; ownPrefix: string; top?: number },
): { functions: HotSpot[]; files: HotSpot[]; ownInclusive: HotSpot[]; busyMs: number } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const parents = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id)
  const nameOf = (frame: CpuProfile['nodes'][number]['callFrame']) => {
    const file = frame.url ? shortUrl(frame.url, options.root) : frame.functionName
    const fn = frame.url
      ? `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`
      : frame.functionName
    return { file, fn }
  }
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us)
  let busyUs = 0
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id)
    const us = profile.timeDeltas[i] ?? 0
    if (!frame || frame.functionName === '(idle)') return
    busyUs += us
    const { file, fn } = nameOf(frame)
    add(byFunction, fn, us)
    add(byFile, file, us)
    // Each of the project's functions on this sample's stack counts once (recursion-safe).
    const onStack = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const f = frames.get(at)!
      const names = nameOf(f)
      if (names.file.startsWith(options.ownPrefix)) onStack.add(names.fn)
    }
    for (const name of onStack) add(inclusive, name, us)
  })
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, options.top ?? 15)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: (100 * us) / (busyUs || 1) }))
  return {
    functions: top(byFunction),
    files: top(byFile),
    ownInclusive: top(inclusive),
    busyMs: busyUs / 1000,
  }
}
