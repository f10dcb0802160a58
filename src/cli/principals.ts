import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  addRole,
  addUser,
  attachPolicy,
  createAccessKey,
  revokeAccessKey,
  type PolicyTarget,
} from '../config/principals-edit.js'
import {
  ADMINISTRATOR_POLICY,
  assertPrincipalsFile,
  writePrincipalsFile,
  type PrincipalsFile,
} from '../config/principals.js'

export const PRINCIPALS_USAGE = `Usage: keyward principals <subcommand> [options]

Edits the principals file (accounts, users, groups, roles, access keys, identity policies).
Each edit is checked as the server checks the file (model/principals.schema.json, policy
grammar) and written atomically (mode 0600). A running server rereads the file when it
changes and on SIGHUP.

Subcommands:
  add-user <name> [--admin]           A user with no policy (or the administrator policy)
  add-role <name> --trust-policy <file> [--max-session-duration <s>]
                                      A role that STS AssumeRole can assume
  create-access-key <user>            Prints a new access key of the user as JSON (the secret too)
  revoke-access-key <access-key-id>   Removes an access key
  attach-policy (--user|--role|--group) <name> --policy-name <name> --policy-document <file>
                                      Attaches (or replaces by name) an identity policy; a group
                                      is created if missing

Options:
  --account <id>     The account (default 111122223333)
  --data-dir <dir>   KEYWARD_DATA_DIR; default ~/.keyward (the file is <data-dir>/principals.json)
  --config <file>    The principals file itself (KEYWARD_CONFIG)
  -h, --help         Show this help
`

/** A JSON object read from `path`, naming the file when it is not one. */
function readJsonObject(path: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new Error(`${what} ${path}: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${what} ${path}: not a JSON object`)
  return value as Record<string, unknown>
}

function only<T>(list: readonly T[], usage: string): T {
  if (list.length !== 1) throw new Error(`expected ${usage}\n\n${PRINCIPALS_USAGE}`)
  return list[0]!
}

function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text))
    throw new Error(`--max-session-duration: ${text} is not a number of seconds`)
  return Number(text)
}

function target(values: { user?: string; role?: string; group?: string }): PolicyTarget {
  const given = (['user', 'role', 'group'] as const).filter((k) => values[k] !== undefined)
  if (given.length !== 1)
    throw new Error('attach-policy takes exactly one of --user, --role, --group')
  const k = given[0]!
  return { [k]: values[k]! } as PolicyTarget
}

/**
 * `keyward principals …`: one edit of the principals file. Prints what it made (an access key
 * as JSON) on stdout.
 *
 * @example
 *   await principalsCommand(['add-user', 'alice'], process.env)
 */
export async function principalsCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      account: { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      admin: { type: 'boolean' },
      'trust-policy': { type: 'string' },
      'max-session-duration': { type: 'string' },
      user: { type: 'string' },
      role: { type: 'string' },
      group: { type: 'string' },
      'policy-name': { type: 'string' },
      'policy-document': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  const [subcommand, ...rest] = positionals
  if (values.help || subcommand === undefined) {
    process.stdout.write(PRINCIPALS_USAGE)
    return values.help ? 0 : 1
  }
  const dataDir = values['data-dir'] ?? env.KEYWARD_DATA_DIR ?? join(homedir(), '.keyward')
  const path = values.config ?? env.KEYWARD_CONFIG ?? join(dataDir, 'principals.json')
  if (!existsSync(path))
    throw new Error(
      `There is no principals file at ${path} yet: 'keyward serve' creates it on first start.`,
    )
  const file = readJsonObject(path, 'The principals file') as unknown as PrincipalsFile
  const account = values.account !== undefined ? { account: values.account } : {}
  let next: PrincipalsFile
  let output: string | undefined
  switch (subcommand) {
    case 'add-user':
      next = addUser(file, {
        ...account,
        name: only(rest, 'add-user <name>'),
        policies: values.admin ? [ADMINISTRATOR_POLICY] : [],
      })
      break
    case 'add-role': {
      if (values['trust-policy'] === undefined)
        throw new Error('add-role needs --trust-policy <file>')
      const maxSessionDuration = parseDuration(values['max-session-duration'])
      next = addRole(file, {
        ...account,
        name: only(rest, 'add-role <name>'),
        trustPolicy: readJsonObject(values['trust-policy'], 'The trust policy'),
        ...(maxSessionDuration !== undefined ? { maxSessionDuration } : {}),
      })
      break
    }
    case 'create-access-key': {
      const made = createAccessKey(file, {
        ...account,
        user: only(rest, 'create-access-key <user>'),
      })
      next = made.file
      output = JSON.stringify(
        {
          AccessKey: {
            UserName: rest[0],
            AccessKeyId: made.key.accessKeyId,
            SecretAccessKey: made.key.secretAccessKey,
          },
        },
        null,
        2,
      )
      break
    }
    case 'revoke-access-key':
      next = revokeAccessKey(file, only(rest, 'revoke-access-key <access-key-id>'))
      break
    case 'attach-policy': {
      const name = values['policy-name']
      const documentPath = values['policy-document']
      if (name === undefined || documentPath === undefined)
        throw new Error('attach-policy needs --policy-name <name> and --policy-document <file>')
      next = attachPolicy(
        file,
        { ...target(values), ...account },
        {
          name,
          document: readJsonObject(documentPath, 'The policy document'),
        },
      )
      break
    }
    default:
      process.stderr.write(
        `keyward principals: unknown subcommand '${subcommand}'\n\n${PRINCIPALS_USAGE}`,
      )
      return 1
  }
  // The edit must leave a file the server would load: never write one it would refuse.
  assertPrincipalsFile(next, path)
  writePrincipalsFile(path, next)
  if (output !== undefined) process.stdout.write(output + '\n')
  return 0
}
