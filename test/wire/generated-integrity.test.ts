import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, it } from 'node:test'
import { OPERATIONS } from '../../src/operations/index.js'
import { EXCEPTIONS } from '../../src/domain/errors/exceptions.js'
import {
  MODELED_ERRORS,
  OPERATION_NAMES,
  type KmsOperationName,
} from '../../src/wire/generated/model.js'

/**
 * The generated wire code cannot drift from model/*.json, and the exception catalogue is
 * itself tested (as fastify's test/internals/errors.test.js does): names, statuses, and which
 * exceptions each operation may throw.
 */

/** The repository root (this file runs as dist/test/wire/generated-integrity.test.js). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const OPERATIONS_DIR = join(ROOT, 'src/operations')

interface ErrorFact {
  readonly modeled: boolean
  readonly fault: 'client' | 'server'
  readonly wireHttpStatus: number
}
const ERROR_FACTS = JSON.parse(readFileSync(join(ROOT, 'model/kms-errors.json'), 'utf8')) as Record<
  string,
  ErrorFact
>
const UNMODELED = new Set(
  Object.entries(ERROR_FACTS)
    .filter(([, fact]) => !fact.modeled)
    .map(([name]) => name),
)

/** 'generate-data-key-pair.ts' → 'GenerateDataKeyPair' */
const operationOf = (file: string) =>
  file
    .replace(/\.ts$/, '')
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')

/** 'GenerateDataKeyPair' → 'generate-data-key-pair.ts' */
const fileOf = (op: string) => op.replace(/(?<!^)([A-Z])/g, '-$1').toLowerCase() + '.ts'

/** Exception classes a source text constructs: `new NotFoundException(`. */
const thrownIn = (text: string) =>
  new Set([...text.matchAll(/\bnew (\w+Exception)\(/g)].map((m) => m[1]!))

/** One source module: its top-level functions and constants, and what it imports by name. */
interface SourceModule {
  /** name → the text from its declaration to the next top-level declaration */
  readonly declarations: ReadonlyMap<string, string>
  /** local name → where it comes from (relative imports only) */
  readonly imports: ReadonlyMap<string, { readonly file: string; readonly name: string }>
}

const modules = new Map<string, SourceModule>()

/** Reads a prettier-formatted module: top-level declarations start at column 0. */
function sourceModule(file: string): SourceModule {
  const cached = modules.get(file)
  if (cached) return cached
  // Comments out: an @example naming another function is not a call.
  const text = (existsSync(file) ? readFileSync(file, 'utf8') : '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
  const imports = new Map<string, { file: string; name: string }>()
  for (const m of text.matchAll(/^import\s+\{([^}]*)\}\s+from\s+'(\.[^']+)\.js'/gm)) {
    const from = join(dirname(file), `${m[2]}.ts`)
    for (const part of m[1]!.split(',')) {
      const spec = part.trim().replace(/^type\s+/, '')
      if (!spec || part.trim().startsWith('type ')) continue
      const [name, local = name] = spec.split(/\s+as\s+/) as [string, string?]
      imports.set(local, { file: from, name })
    }
  }
  const starts = [...text.matchAll(/^(?:export )?(?:async )?(?:function\*? (\w+)|const (\w+))/gm)]
  const declarations = new Map<string, string>()
  starts.forEach((m, i) => {
    declarations.set(m[1] ?? m[2]!, text.slice(m.index, starts[i + 1]?.index ?? text.length))
  })
  const parsed = { declarations, imports }
  modules.set(file, parsed)
  return parsed
}

/**
 * Only operation code is followed: the domain's checks are table-driven (assertKeyState throws
 * DisabledException only where its table says so), which reading the text cannot tell.
 */
const FOLLOWED = [join(ROOT, 'src/operations')]

/**
 * The exceptions a top-level function may construct: in its own text, and in the functions of
 * its module and of the operation modules it imports that it calls.
 */
function thrownBy(file: string, name: string, seen = new Set<string>()): Set<string> {
  const id = `${file}#${name}`
  const found = new Set<string>()
  if (seen.has(id) || !FOLLOWED.some((dir) => file.startsWith(dir))) return found
  seen.add(id)
  const module = sourceModule(file)
  const body = module.declarations.get(name)
  if (body === undefined) return found
  for (const e of thrownIn(body)) found.add(e)
  const calls = (local: string) => new RegExp(`\\b${local}\\b`).test(body)
  for (const local of module.declarations.keys()) {
    if (local !== name && calls(local)) for (const e of thrownBy(file, local, seen)) found.add(e)
  }
  for (const [local, from] of module.imports) {
    if (calls(local)) for (const e of thrownBy(from.file, from.name, seen)) found.add(e)
  }
  return found
}

/** 'generate-data-key-pair.ts' → 'generateDataKeyPair', the handler's exported name. */
const handlerName = (file: string) => {
  const op = operationOf(file)
  return op.charAt(0).toLowerCase() + op.slice(1)
}

/**
 * Keyward's answer for a part of the API it does not build (an operation, a key spec, an
 * option): AWS's own exception for "not supported", sent by any operation.
 */
const NOT_BUILT = 'UnsupportedOperationException'

/**
 * Deviations from the model that are known and open, each with its reason. The test fails when
 * one disappears, so this list cannot go stale.
 */
const KNOWN_DEVIATIONS = new Set([
  // support/pagination.ts answers a marker Keyward did not issue with InvalidMarkerException
  // for every listing, but the model's ListKeyPolicies lists no InvalidMarkerException (its
  // Marker is documented, its error is not). Open: which error AWS sends there.
  'ListKeyPolicies can throw InvalidMarkerException, which its model lacks',
])

/** Operation handler files: everything in src/operations/ but the table and the context. */
const handlerFiles = () =>
  readdirSync(OPERATIONS_DIR).filter(
    (f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'context.ts',
  )

describe('generated wire code', () => {
  it('is exactly what scripts/generate-model.mjs makes from model/*.json', async () => {
    const script = pathToFileURL(join(ROOT, 'scripts/generate-model.mjs')).href
    const { generated } = (await import(script)) as {
      generated: () => Record<string, string>
    }
    const files = generated()
    assert.deepEqual(Object.keys(files).sort(), [
      'src/domain/errors/exceptions.ts',
      'src/wire/generated/model.ts',
    ])
    for (const [file, text] of Object.entries(files)) {
      const onDisk = readFileSync(join(ROOT, file), 'utf8')
      assert.ok(onDisk === text, `${file} differs from the model: run npm run generate`)
    }
  })

  it('knows all 54 operations of the API', () => {
    assert.equal(OPERATION_NAMES.length, 54)
    assert.deepEqual([...OPERATION_NAMES].sort(), [...OPERATION_NAMES])
  })
})

describe('the exception catalogue', () => {
  it('gives every exception class a name equal to its wire name', () => {
    for (const [key, Exception] of Object.entries(EXCEPTIONS)) {
      const e = new Exception('m')
      assert.equal(e.name, key)
      assert.equal(Exception.name, key)
      assert.equal(e.message, 'm')
      assert.ok(e instanceof Error)
    }
  })

  it('holds every exception of model/kms-errors.json, with its fault and status', () => {
    assert.deepEqual(Object.keys(EXCEPTIONS).sort(), Object.keys(ERROR_FACTS).sort())
    for (const [key, Exception] of Object.entries(EXCEPTIONS)) {
      const e = new Exception()
      const fact = ERROR_FACTS[key]!
      assert.equal(e.fault, fact.fault, key)
      assert.equal(e.httpStatus, fact.wireHttpStatus, key)
    }
  })

  it('sends 400 for every client fault (real KMS does, whatever Smithy says)', () => {
    for (const [key, Exception] of Object.entries(EXCEPTIONS)) {
      const e = new Exception()
      if (e.fault === 'client') assert.equal(e.httpStatus, 400, key)
      else assert.ok(e.httpStatus >= 500, key)
    }
  })

  it('sends an empty message as no message', () => {
    assert.equal(new EXCEPTIONS.InvalidCiphertextException().message, '')
  })
})

describe('the operation table', () => {
  it('holds only operations of the model, each in its own file', () => {
    for (const op of Object.keys(OPERATIONS)) {
      assert.ok((OPERATION_NAMES as readonly string[]).includes(op), `${op} is not a KMS operation`)
      assert.ok(existsSync(join(OPERATIONS_DIR, fileOf(op))), `${op} lives in ${fileOf(op)}`)
    }
  })

  it('has a table entry for every handler file, and a model operation for every file name', () => {
    for (const file of handlerFiles()) {
      const op = operationOf(file)
      assert.ok((OPERATION_NAMES as readonly string[]).includes(op), `${file}: no operation ${op}`)
      assert.ok(op in OPERATIONS, `${file} is not in src/operations/index.ts`)
    }
  })

  it('throws from each handler only exceptions its model lists, or unmodeled ones', () => {
    const problems: string[] = []
    for (const file of handlerFiles()) {
      const op = operationOf(file) as KmsOperationName
      const allowed = new Set([...(MODELED_ERRORS[op] ?? []), ...UNMODELED])
      const text = readFileSync(join(OPERATIONS_DIR, file), 'utf8')
      for (const name of thrownIn(text)) {
        if (!allowed.has(name)) problems.push(`${file} throws ${name}, which ${op} does not model`)
      }
    }
    assert.deepEqual(problems, [])
  })

  it('throws, through the helpers each handler calls, only what its operation allows', () => {
    const problems: string[] = []
    for (const file of handlerFiles()) {
      const op = operationOf(file) as KmsOperationName
      const allowed = new Set([...(MODELED_ERRORS[op] ?? []), ...UNMODELED, NOT_BUILT])
      for (const name of thrownBy(join(OPERATIONS_DIR, file), handlerName(file))) {
        if (!allowed.has(name)) problems.push(`${op} can throw ${name}, which its model lacks`)
      }
    }
    assert.deepEqual(
      problems.filter((p) => !KNOWN_DEVIATIONS.has(p)),
      [],
    )
    assert.deepEqual(
      [...KNOWN_DEVIATIONS].filter((p) => !problems.includes(p)),
      [],
      'a known deviation is gone: remove it from KNOWN_DEVIATIONS',
    )
  })
})
