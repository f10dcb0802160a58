/**
 * A progress counter for long commands (backup, restore, root-key rotate): one line on stderr
 * rewritten in place when stderr is a terminal, nothing otherwise (a log file or a script gets
 * the final result only; `--json` puts that on stdout).
 *
 * @example
 *   const progress = progressLine({ enabled: process.stderr.isTTY === true })
 *   progress.update('snapshot', { done: 10, total: 100, unit: 'pages' })
 *   progress.done()
 */
export function progressLine(options: { enabled: boolean; write?: (text: string) => void }): {
  update(step: string, counts: { done: number; total: number; unit: string }): void
  done(): void
} {
  const write = options.write ?? ((text: string) => process.stderr.write(text))
  let shown = false
  let last = ''
  return {
    update(step, { done, total, unit }) {
      if (!options.enabled) return
      const percent = total > 0 ? Math.floor((done / total) * 100) : 100
      const text = `${step}: ${done}/${total} ${unit} (${percent}%)`
      // Redraw when the percentage moves: a line per chunk would flood a slow terminal.
      const key = `${step} ${percent}`
      if (key === last && done !== total) return
      last = key
      write(`\r\x1b[2K${text}`)
      shown = true
    },
    done() {
      if (shown) write('\n')
      shown = false
    },
  }
}
