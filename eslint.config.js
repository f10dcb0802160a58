// The ecosystem's standard lint: typescript-eslint's recommended rules, type-aware.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/** The composition root, the command line and the XKS proxy server: nothing imports them. */
const OUTER = ['**/server.js', '**/cli/**', '**/xks-proxy/**']
/** Protocol code: everything in src/wire/, its generated wire model included. */
const WIRE = ['**/wire/**']
/** Modules that do I/O, which the pure domain never touches. */
const IO_MODULES = [
  'node:fs',
  'node:fs/promises',
  'node:http',
  'node:https',
  'node:net',
  'kysely',
  'better-sqlite3',
  'pkcs11js',
].map((name) => ({ name, message: 'The domain does no I/O (docs/principles.md, 9).' }))

/**
 * A per-directory `no-restricted-imports` rule: files matching `files` (but not `except`) may
 * not import what `forbid` matches (gitignore patterns; `!` re-allows).
 */
function layer(files, { forbid, message, paths = [], except = [] }) {
  return [
    {
      files: [files],
      ignores: except,
      rules: {
        '@typescript-eslint/no-restricted-imports': [
          'error',
          { paths, patterns: [{ group: forbid, message }] },
        ],
      },
    },
  ]
}

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'console/dist/',
      'test-artifacts/',
      'src/wire/generated/',
      'src/domain/errors/exceptions.ts',
      'bin/',
      'scripts/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='unlock']",
          message:
            'Release resources through a scoped helper (withKeyLock, transaction), never by hand.',
        },
      ],
    },
  },
  // The layers (docs/architecture.md): each may import only the layers below it. A rule here
  // keeps a dependency that was removed from coming back; the import circle test
  // (test/architecture/import-cycles.test.ts) catches what these patterns cannot.
  ...layer('src/domain/**', {
    forbid: [
      ...OUTER,
      ...WIRE,
      '**/adapters/**',
      '**/config/**',
      '**/services/**',
      '**/operations/**',
      '**/core/**',
      '**/crypto/**',
    ],
    message: 'The domain is pure: it imports only the domain (docs/principles.md, 9).',
    paths: IO_MODULES,
  }),
  ...layer('src/ports/**', {
    forbid: [
      ...OUTER,
      ...WIRE,
      '**/adapters/**',
      '**/config/**',
      '**/services/**',
      '**/operations/**',
      '**/core/**',
    ],
    message: 'Ports are interfaces over domain values: they import only the domain.',
  }),
  ...layer('src/sigv4/**', {
    forbid: [
      ...OUTER,
      ...WIRE,
      '**/adapters/**',
      '**/config/**',
      '**/services/**',
      '**/operations/**',
      '**/core/**',
    ],
    message: 'SigV4 is a library of the edges: it imports only the domain.',
  }),
  ...layer('src/config/**', {
    forbid: [...OUTER, ...WIRE, '**/services/**', '**/operations/**', '**/core/**'],
    message: 'Configuration is read below every front door: no wire, services, operations or core.',
  }),
  ...layer('src/crypto/**', {
    forbid: [
      ...OUTER,
      ...WIRE,
      '**/adapters/**',
      '**/config/**',
      '**/services/**',
      '**/operations/**',
      '**/core/**',
    ],
    message: 'Software cryptography imports only the domain and ports.',
  }),
  ...layer('src/services/**', {
    forbid: [...OUTER, ...WIRE, '**/adapters/**', '**/operations/**', '**/core/**'],
    message:
      'Services are below the operations and every front door, and reach adapters through ports: no wire, adapters, operations or core.',
  }),
  ...layer('src/operations/**', {
    forbid: [...OUTER, '**/wire/*.js', '**/adapters/**', '**/core/**'],
    message: 'Operations reach adapters through ports and services, and know no front door.',
  }),
  ...layer('src/wire/**', {
    forbid: [...OUTER, '**/operations/**'],
    message: 'A front door calls the request core (src/core/invoke.ts), never an operation.',
  }),
  ...layer('src/core/**', {
    forbid: [...OUTER, '**/wire/*.js', '**/adapters/**'],
    message:
      'The request core is shared by every front door: it imports no protocol code and no adapter.',
  }),
)
