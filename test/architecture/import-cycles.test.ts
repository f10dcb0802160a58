import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

/** The repository root (this file runs as dist/test/architecture/import-cycles.test.js). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SRC = join(ROOT, 'src')

/**
 * Every module specifier a TypeScript file names: `import … from`, `import type … from`,
 * `export … from`, `import '…'` and `import('…')`. Type-only imports count: a circle of types
 * still ties the layers together, and the next edit makes it a circle of values.
 */
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*${},\s]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g

/** Comments are dropped first, so that an `@example` with an import line is not an edge. */
const withoutComments = (text: string) =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')

/** The src/ files a source file imports (relative specifiers only; packages are leaves). */
export function importsOf(file: string, text: string): string[] {
  const found: string[] = []
  for (const m of withoutComments(text).matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2]!
    if (!spec.startsWith('.')) continue
    found.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'))
  }
  return found
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

/**
 * The first circle of the graph in file order, as a path that starts and ends at the same
 * file; undefined when there is none (a depth-first search that reports a back edge).
 */
export function findCircle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (file: string): string[] | undefined => {
    state.set(file, 'open')
    path.push(file)
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') return [...path.slice(path.indexOf(next)), next]
      if (!state.has(next) && graph.has(next)) {
        const circle = visit(next)
        if (circle) return circle
      }
    }
    path.pop()
    state.set(file, 'done')
    return undefined
  }
  for (const file of graph.keys()) {
    if (state.has(file)) continue
    const circle = visit(file)
    if (circle) return circle
  }
  return undefined
}

describe('the import graph of src/', () => {
  it('has no circle, type-only imports included', () => {
    const graph = new Map<string, string[]>()
    for (const file of sourceFiles(SRC).sort()) {
      graph.set(file, importsOf(file, readFileSync(file, 'utf8')))
    }
    const circle = findCircle(graph)
    assert.equal(
      circle && circle.map((f) => relative(ROOT, f)).join(' → '),
      undefined,
      'an import circle: break it by moving the shared piece into a lower layer (docs/architecture.md)',
    )
  })

  it('reads every kind of import, and finds and names a circle', () => {
    const text = [
      "import { a } from './a.js'",
      "import type { B } from '../b.js'",
      "export { c } from './c.js'",
      "export * from './d.js'",
      "import './e.js'",
      "const f = await import('./f.js')",
      "import {\n  g,\n  type G,\n} from './g.js'",
      "import { h } from 'node:fs'",
      '/** @example import { z } from "./z.js" */',
    ].join('\n')
    assert.deepEqual(importsOf('/r/src/x/y.ts', text), [
      '/r/src/x/a.ts',
      '/r/src/b.ts',
      '/r/src/x/c.ts',
      '/r/src/x/d.ts',
      '/r/src/x/e.ts',
      '/r/src/x/f.ts',
      '/r/src/x/g.ts',
    ])
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', []],
    ])
    assert.deepEqual(findCircle(graph), ['a', 'b', 'c', 'a'])
    assert.equal(
      findCircle(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
      undefined,
    )
  })
})
