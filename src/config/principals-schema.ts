import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'

/**
 * The JSON Schema of the principals file, model/principals.schema.json, shipped with Keyward so
 * that configuration tools can check a file before the server reads it. The server validates
 * every read against it (start and SIGHUP), and refuses a file that does not conform with a
 * message that names the bad member by its JSON Pointer (RFC 6901), e.g.
 * `/accounts/0/users/1/name`.
 */

/** Where the schema is, from dist/src/config/ or src/config/ alike. */
export const PRINCIPALS_SCHEMA_URL = new URL(
  '../../../model/principals.schema.json',
  import.meta.url,
)

let validator: ValidateFunction | undefined

function compiled(): ValidateFunction {
  if (!validator) {
    let url = PRINCIPALS_SCHEMA_URL
    // Compiled code runs from dist/src/config; the sources from src/config (one level less).
    try {
      readFileSync(url)
    } catch {
      url = new URL('../../model/principals.schema.json', import.meta.url)
    }
    const schema = JSON.parse(readFileSync(url, 'utf8')) as object
    validator = new Ajv({ allErrors: false, strict: true }).compile(schema)
  }
  return validator
}

/** One Ajv error as a sentence naming the member's JSON Pointer. */
function describe(error: ErrorObject): string {
  const at = error.instancePath || '/'
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty
    return `${at}: unknown member "${extra}"`
  }
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty
    return `${at}: the member "${missing}" is required`
  }
  return `${at}: ${error.message ?? 'is not valid'}`
}

/**
 * Throws an Error `<path>: <pointer>: <what is wrong>` when `content` does not conform to the
 * principals file's schema.
 *
 * @example
 *   assertPrincipalsSchema({ accounts: [{ id: '12' }] }, 'p.json')
 *   // Error: p.json: /accounts/0/id: must match pattern "^\d{12}$"
 */
export function assertPrincipalsSchema(content: unknown, path: string): void {
  const validate = compiled()
  if (validate(content)) return
  throw new Error(`${path}: ${describe(validate.errors![0]!)}`)
}
