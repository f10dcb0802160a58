import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'

/** The repository root (this file runs as dist/test/architecture/layers.test.js). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * The layer rules of eslint.config.js, row by row: a file at `file` importing `from` is
 * refused (or allowed). Linting text under a path that does not exist runs the same rules as
 * `npm run lint` on a real file there.
 */
const ROWS: ReadonlyArray<{ file: string; from: string; refused: boolean }> = [
  { file: 'src/domain/x.ts', from: '../wire/validate-input.js', refused: true },
  { file: 'src/domain/x.ts', from: '../services/key-service.js', refused: true },
  { file: 'src/domain/x.ts', from: '../adapters/store-sql/open-sqlite.js', refused: true },
  { file: 'src/domain/x.ts', from: '../operations/context.js', refused: true },
  { file: 'src/domain/x.ts', from: 'node:fs', refused: true },
  { file: 'src/domain/x.ts', from: '../wire/generated/model.js', refused: true },
  { file: 'src/domain/x.ts', from: './errors/exceptions.js', refused: false },
  { file: 'src/domain/x.ts', from: './key.js', refused: false },
  { file: 'src/sigv4/x.ts', from: '../wire/kms-http-handler.js', refused: true },
  { file: 'src/config/x.ts', from: '../wire/kms-http-handler.js', refused: true },
  { file: 'src/config/x.ts', from: '../sigv4/sigv4.js', refused: false },
  { file: 'src/ports/x.ts', from: '../services/key-service.js', refused: true },
  { file: 'src/services/x.ts', from: '../wire/kms-http-handler.js', refused: true },
  { file: 'src/services/x.ts', from: '../wire/generated/model.js', refused: true },
  { file: 'src/services/x.ts', from: '../operations/context.js', refused: true },
  { file: 'src/services/x.ts', from: '../core/invoke.js', refused: true },
  { file: 'src/services/x.ts', from: '../ports/logger.js', refused: false },
  { file: 'src/operations/x.ts', from: '../adapters/xks/xks-proxy-client.js', refused: true },
  { file: 'src/operations/x.ts', from: '../wire/validate-input.js', refused: true },
  { file: 'src/operations/x.ts', from: '../core/invoke.js', refused: true },
  { file: 'src/operations/x.ts', from: '../wire/generated/model.js', refused: false },
  { file: 'src/core/x.ts', from: '../wire/kms-http-handler.js', refused: true },
  { file: 'src/core/x.ts', from: '../adapters/pkcs11/pkcs11-token.js', refused: true },
  { file: 'src/core/x.ts', from: '../operations/index.js', refused: false },
  { file: 'src/wire/x.ts', from: '../operations/index.js', refused: true },
  { file: 'src/wire/x.ts', from: '../core/invoke.js', refused: false },
]

describe('the layer rules of eslint.config.js', () => {
  const eslint = new ESLint({ cwd: ROOT })
  for (const row of ROWS) {
    it(`${row.file} ${row.refused ? 'may not' : 'may'} import ${row.from}`, async () => {
      const code = `import type { X } from '${row.from}'\nexport type Y = X\n`
      const [result] = await eslint.lintText(code, { filePath: `${ROOT}${row.file}` })
      const layerErrors = result!.messages.filter(
        (m) => m.ruleId === '@typescript-eslint/no-restricted-imports',
      )
      assert.equal(layerErrors.length, row.refused ? 1 : 0, JSON.stringify(result!.messages))
    })
  }
})
