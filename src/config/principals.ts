import { createHash, randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { Caller } from '../domain/caller.js'
import { parsePolicy, PolicyDocumentError, type CompiledPolicy } from '../domain/policy/index.js'
import { assertPrincipalsSchema } from './principals-schema.js'
import type { Credential } from '../sigv4/sigv4.js'
import { readHsmClusters, type HsmClusterConfig } from './hsm-clusters.js'
import { readQuotaConfig, type QuotaConfig } from './quotas.js'
import { readXksClientConfig, type XksClientConfig } from './xks-client.js'

/** The account Keyward's first admin belongs to (AWS's documentation example account). */
export const DEFAULT_ACCOUNT_ID = '111122223333'

/** An identity policy as the file holds it: a name and a policy document (a JSON object). */
export interface PolicyEntry {
  readonly name: string
  readonly document: Record<string, unknown>
}

/** An access key as the file holds it. */
export interface AccessKeyEntry {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

/** An IAM user. Without `policies`, a user written before policies existed: an administrator. */
export interface UserEntry {
  readonly name: string
  readonly accessKeys: readonly AccessKeyEntry[]
  readonly policies?: readonly PolicyEntry[]
  readonly tags?: Readonly<Record<string, string>>
  readonly groups?: readonly string[]
}

/** An IAM group: its policies apply to every user that names it. */
export interface GroupEntry {
  readonly name: string
  readonly policies: readonly PolicyEntry[]
}

/** An IAM role, assumed through STS AssumeRole. */
export interface RoleEntry {
  readonly name: string
  readonly trustPolicy: Record<string, unknown>
  readonly policies: readonly PolicyEntry[]
  readonly tags?: Readonly<Record<string, string>>
  /** Seconds (3600..43200); 3600 when absent (IAM API Reference, CreateRole). */
  readonly maxSessionDuration?: number
}

/** One account of the principals file. */
export interface AccountEntry {
  readonly id: string
  readonly users: readonly UserEntry[]
  readonly groups?: readonly GroupEntry[]
  readonly roles?: readonly RoleEntry[]
}

/**
 * The principals file (JSON), validated against model/principals.schema.json. Example:
 *
 *   {
 *     "regions": ["us-east-1", "eu-west-1"],
 *     "accounts": [{
 *       "id": "111122223333",
 *       "users": [{ "name": "admin",
 *                   "accessKeys": [{ "accessKeyId": "AKIA…", "secretAccessKey": "…" }],
 *                   "policies": [{ "name": "administrator", "document": { … } }] }],
 *       "groups": [{ "name": "devs", "policies": [ … ] }],
 *       "roles": [{ "name": "app", "trustPolicy": { … }, "policies": [ … ] }]
 *     }]
 *   }
 *
 * `regions` is optional: without it every well-formed Region name is served. The optional
 * `cloudHsmClusters` declares the HSMs custom key stores may use (see hsm-clusters.ts), and the
 * optional `xksClient` how external key store proxies are reached (see xks-client.ts), and the
 * optional `quotas` AWS's resource and request quotas (see quotas.ts). docs/authorization.md
 * describes users, groups and roles.
 */
export interface PrincipalsFile {
  readonly regions?: readonly string[]
  readonly cloudHsmClusters?: readonly HsmClusterConfig[]
  readonly xksClient?: unknown
  readonly quotas?: unknown
  readonly accounts: readonly AccountEntry[]
}

/** A role as STS AssumeRole needs it. */
export interface Role {
  readonly accountId: string
  readonly name: string
  /** `arn:aws:iam::<account>:role/<name>` */
  readonly arn: string
  /** `AROA…`: the first part of a session's `aws:userid`. */
  readonly roleId: string
  readonly trustPolicy: CompiledPolicy
  /** The role's identity policy documents. */
  readonly policies: readonly unknown[]
  readonly tags: Readonly<Record<string, string>>
  readonly maxSessionDuration: number
}

/** Credentials by access key ID, and the Regions served. */
export interface Principals {
  readonly regions?: readonly string[]
  /** HSM connections by CloudHsmClusterId; none when absent. */
  readonly cloudHsmClusters?: ReadonlyMap<string, HsmClusterConfig>
  /** How external key store proxies are reached; defaults when absent. */
  readonly xksClient?: XksClientConfig
  /** Resource and request quotas; AWS's defaults when absent. */
  readonly quotas?: QuotaConfig
  readonly credentials: ReadonlyMap<string, Credential<Caller>>
  /** IAM users by ARN, as callers (GetSessionToken sessions act as their user). */
  readonly users?: ReadonlyMap<string, Caller>
  /** Roles by ARN (none when absent). */
  readonly roles?: ReadonlyMap<string, Role>
  /**
   * ARNs of users without a `policies` member: written before policies existed, they are
   * administrators (issue 12), which the server says once at start.
   */
  readonly legacyAdministrators?: readonly string[]
}

/**
 * The principals the request listener reads, swappable while serving: SIGHUP rereads the file
 * and {@link PrincipalsHolder.replace}s them, so each request sees either the old set or the
 * new one, never a mix.
 *
 * @example
 *   const holder = new PrincipalsHolder(readPrincipals(path))
 *   holder.replace(readPrincipals(path)) // on SIGHUP
 *   holder.current().credentials.get('AKIA…')
 */
export class PrincipalsHolder {
  #current: Principals

  constructor(initial: Principals) {
    this.#current = initial
  }

  /** The principals in force now. */
  current(): Principals {
    return this.#current
  }

  /** Puts `next` in force for every request from now on. */
  replace(next: Principals): void {
    this.#current = next
  }
}

/**
 * The admin's access key: `preferred` (KEYWARD_ROOT_ACCESS_KEY_ID) when set, else the first
 * access key of `arn:aws:iam::111122223333:user/admin` in the file; undefined without one.
 *
 * @example
 *   const admin = adminAccessKey(readPrincipals(path))
 *   if (admin) console.log(admin.accessKeyId)
 */
export function adminAccessKey(
  principals: Principals,
  preferred?: string,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  const admin = adminCaller().arn
  let found: { accessKeyId: string; secretAccessKey: string } | undefined
  for (const [accessKeyId, credential] of principals.credentials) {
    if (credential.principal.arn !== admin || credential.sessionToken) continue
    if (accessKeyId === preferred) return { accessKeyId, ...pickSecret(credential) }
    found ??= { accessKeyId, ...pickSecret(credential) }
  }
  return found
}

const pickSecret = (c: Credential<Caller>) => ({ secretAccessKey: c.secretAccessKey })

/**
 * The admin user of `accountId`, as `--dev` and the KEYWARD_ROOT_ACCESS_KEY_ID credential
 * see it: an administrator (no `identityPolicies` member, issue 12).
 */
export const adminCaller = (accountId = DEFAULT_ACCOUNT_ID): Caller => ({
  accountId,
  arn: `arn:aws:iam::${accountId}:user/admin`,
})

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** An access key ID in AWS's shape: AKIA + 16 base32 characters. */
export function newAccessKeyId(): string {
  return 'AKIA' + [...randomBytes(16)].map((b) => BASE32[b % 32]).join('')
}

/** A 40-character secret access key, as AWS issues. */
export const newSecretAccessKey = (): string =>
  randomBytes(30).toString('base64').replace(/\+/g, 'a').replace(/\//g, 'b')

/** A Region name as AWS spells them (us-east-1, us-gov-west-1, ap-southeast-5). */
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/

/**
 * The administrator identity policy: every action on every resource (IAM's
 * AdministratorAccess managed policy). Users written before policies existed hold it, and the
 * admin created on first start gets it written into the file (issue 12).
 */
export const ADMINISTRATOR_POLICY: PolicyEntry = {
  name: 'administrator',
  document: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  },
}

/** The default MaxSessionDuration of a role (IAM API Reference, CreateRole). */
export const DEFAULT_MAX_SESSION_DURATION = 3600

/**
 * A unique ID in IAM's shape (`AIDA…` users, `AROA…` roles: a prefix and 17 base32 letters),
 * derived from the ARN so that it is the same on every read and every worker.
 */
function uniqueId(prefix: 'AIDA' | 'AROA', arn: string): string {
  const digest = createHash('sha256').update(arn).digest()
  return prefix + [...digest.subarray(0, 17)].map((b) => BASE32[b % 32]).join('')
}

/** Checks that the schema cannot express: one access key ID per principal, Region names, names unique, groups exist. */
function assertShape(file: PrincipalsFile, path: string): void {
  const bad = (why: string) => new Error(`${path}: ${why}`)
  // One access key ID names one principal: a second one would silently replace the first.
  const seen = new Set<string>()
  const accounts = new Set<string>()
  for (const [ai, a] of file.accounts.entries()) {
    if (accounts.has(a.id)) throw bad(`/accounts/${ai}/id: account ${a.id} is listed twice`)
    accounts.add(a.id)
    const groups = new Set<string>()
    for (const [gi, g] of (a.groups ?? []).entries()) {
      if (groups.has(g.name))
        throw bad(`/accounts/${ai}/groups/${gi}/name: group ${g.name} is listed twice`)
      groups.add(g.name)
    }
    const users = new Set<string>()
    for (const [ui, u] of (a.users ?? []).entries()) {
      if (users.has(u.name))
        throw bad(`/accounts/${ai}/users/${ui}/name: user ${u.name} is listed twice`)
      users.add(u.name)
      for (const [ki, k] of (u.accessKeys ?? []).entries()) {
        if (seen.has(k.accessKeyId))
          throw bad(
            `/accounts/${ai}/users/${ui}/accessKeys/${ki}: access key ID ${k.accessKeyId} is listed twice`,
          )
        seen.add(k.accessKeyId)
      }
      for (const [gi, g] of (u.groups ?? []).entries()) {
        if (!groups.has(g))
          throw bad(
            `/accounts/${ai}/users/${ui}/groups/${gi}: user ${u.name} names group ${g}, which account ${a.id} does not have`,
          )
      }
    }
    const roles = new Set<string>()
    for (const [ri, r] of (a.roles ?? []).entries()) {
      if (roles.has(r.name))
        throw bad(`/accounts/${ai}/roles/${ri}/name: role ${r.name} is listed twice`)
      roles.add(r.name)
    }
  }
  for (const [i, r] of (file.regions ?? []).entries()) {
    if (!REGION.test(r)) throw bad(`/regions/${i}: ${r} is not a Region name`)
  }
}

/**
 * Parses every policy document of the file with the policy grammar (identity policies as
 * `identity`, trust policies as resource policies with a Principal), so that a malformed one
 * stops the start naming its owner. Returns the compiled trust policies by role ARN.
 */
function checkPolicies(file: PrincipalsFile, path: string): Map<string, CompiledPolicy> {
  const trust = new Map<string, CompiledPolicy>()
  const parse = (document: unknown, kind: 'identity' | 'key', where: string) => {
    try {
      return parsePolicy(document as object, { kind })
    } catch (error) {
      if (!(error instanceof PolicyDocumentError)) throw error
      throw new Error(`${path}: ${where}: ${error.message}`)
    }
  }
  const each = (list: readonly PolicyEntry[] | undefined, at: string, owner: string) => {
    for (const [pi, p] of (list ?? []).entries())
      parse(p.document, 'identity', `${at}/policies/${pi}/document (policy ${p.name} of ${owner})`)
  }
  for (const [ai, a] of file.accounts.entries()) {
    for (const [ui, u] of (a.users ?? []).entries())
      each(u.policies, `/accounts/${ai}/users/${ui}`, `user ${u.name}`)
    for (const [gi, g] of (a.groups ?? []).entries())
      each(g.policies, `/accounts/${ai}/groups/${gi}`, `group ${g.name}`)
    for (const [ri, r] of (a.roles ?? []).entries()) {
      each(r.policies, `/accounts/${ai}/roles/${ri}`, `role ${r.name}`)
      const at = `/accounts/${ai}/roles/${ri}/trustPolicy (trust policy of role ${r.name})`
      trust.set(
        `arn:aws:iam::${a.id}:role/${r.name}`,
        parse(trustDocument(r.trustPolicy), 'key', at),
      )
    }
  }
  return trust
}

/**
 * A trust policy with its implied resource written out: trust policy statements have no
 * Resource, the role they are attached to is their resource (IAM User Guide, "Role trust
 * policy"), while the policy grammar requires one. `"*"` in a resource policy means the
 * resource it is attached to.
 */
function trustDocument(document: Record<string, unknown>): unknown {
  const statements = document['Statement']
  const withResource = (s: unknown) =>
    s !== null &&
    typeof s === 'object' &&
    !Array.isArray(s) &&
    !('Resource' in s) &&
    !('NotResource' in s)
      ? { ...s, Resource: '*' }
      : s
  if (Array.isArray(statements)) return { ...document, Statement: statements.map(withResource) }
  if (statements !== undefined) return { ...document, Statement: withResource(statements) }
  return document
}

/** Reads and parses the file's JSON, naming the file when it is not JSON. */
function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error
    throw new Error(`${path}: not valid JSON (${error.message})`)
  }
}

/**
 * Checks a principals file's content completely (schema, names, policy documents) without
 * putting anything in force; throws an Error naming `path` and the bad member.
 *
 * @example
 *   assertPrincipalsFile(JSON.parse(text), '/root/.keyward/principals.json')
 */
export function assertPrincipalsFile(
  content: unknown,
  path: string,
): asserts content is PrincipalsFile {
  assertPrincipalsSchema(content, path)
  assertShape(content as PrincipalsFile, path)
  checkPolicies(content as PrincipalsFile, path)
}

/** The Caller of an IAM user, with what policies need. */
function userCaller(account: AccountEntry, user: UserEntry): Caller {
  const arn = `arn:aws:iam::${account.id}:user/${user.name}`
  const groups = new Map((account.groups ?? []).map((g) => [g.name, g]))
  const identityPolicies =
    user.policies === undefined
      ? undefined
      : [
          ...user.policies.map((p) => p.document),
          ...(user.groups ?? []).flatMap((g) => groups.get(g)!.policies.map((p) => p.document)),
        ]
  return {
    accountId: account.id,
    arn,
    principalType: 'user',
    userName: user.name,
    userId: uniqueId('AIDA', arn),
    ...(user.tags ? { tags: { ...user.tags } } : {}),
    ...(identityPolicies ? { identityPolicies } : {}),
  }
}

/** Reads a principals file into a credential map, its roles, and its pre-existing administrators. */
export function readPrincipals(
  path: string,
  extra?: { accessKeyId: string; secretAccessKey: string },
): Principals {
  const content = readJsonFile(path)
  assertPrincipalsSchema(content, path)
  const file = content as PrincipalsFile
  assertShape(file, path)
  const trust = checkPolicies(file, path)
  const cloudHsmClusters = readHsmClusters(file.cloudHsmClusters, path)
  const xksClient = readXksClientConfig(file.xksClient, path)
  const quotas = readQuotaConfig(file.quotas, path)
  const credentials = new Map<string, Credential<Caller>>()
  const roles = new Map<string, Role>()
  const legacyAdministrators: string[] = []
  const users = new Map<string, Caller>()
  for (const account of file.accounts) {
    for (const user of account.users ?? []) {
      const principal = userCaller(account, user)
      if (user.policies === undefined) legacyAdministrators.push(principal.arn)
      users.set(principal.arn, principal)
      for (const k of user.accessKeys ?? []) {
        credentials.set(k.accessKeyId, {
          secretAccessKey: k.secretAccessKey,
          ...(k.sessionToken ? { sessionToken: k.sessionToken } : {}),
          principal: { ...principal, accessKeyId: k.accessKeyId },
        })
      }
    }
    for (const role of account.roles ?? []) {
      const arn = `arn:aws:iam::${account.id}:role/${role.name}`
      roles.set(arn, {
        accountId: account.id,
        name: role.name,
        arn,
        roleId: uniqueId('AROA', arn),
        trustPolicy: trust.get(arn)!,
        policies: role.policies.map((p) => p.document),
        tags: { ...role.tags },
        maxSessionDuration: role.maxSessionDuration ?? DEFAULT_MAX_SESSION_DURATION,
      })
    }
  }
  // KEYWARD_ROOT_ACCESS_KEY_ID / KEYWARD_ROOT_SECRET_ACCESS_KEY always work as the admin
  // (the way MinIO treats its root credentials).
  if (extra)
    credentials.set(extra.accessKeyId, {
      secretAccessKey: extra.secretAccessKey,
      principal: adminCaller(),
    })
  return {
    ...(file.regions ? { regions: file.regions } : {}),
    ...(cloudHsmClusters.size > 0 ? { cloudHsmClusters } : {}),
    ...(xksClient ? { xksClient } : {}),
    ...(quotas ? { quotas } : {}),
    credentials,
    users,
    roles,
    legacyAdministrators,
  }
}

/**
 * Writes a principals file atomically: a temporary file beside it (mode 0600), fsync, rename,
 * then fsync of the directory, so that a reader (the server on SIGHUP or on change) sees the
 * old file or the new one, never half of one, even after a crash.
 *
 * @example
 *   writePrincipalsFile('/root/.keyward/principals.json', file)
 */
export function writePrincipalsFile(path: string, file: PrincipalsFile): void {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  )
  const fd = openSync(temporary, 'wx', 0o600)
  try {
    writeSync(fd, JSON.stringify(file, null, 2) + '\n')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
  const dir = openSync(dirname(path), 'r')
  try {
    fsyncSync(dir)
  } finally {
    closeSync(dir)
  }
}

/**
 * Creates the principals file on first start: one admin access key for account 111122223333,
 * from the environment or freshly generated, holding the administrator policy, in a file
 * readable only by its owner (0600). Returns the access key ID when a file was created.
 */
export function createPrincipalsFileIfMissing(
  path: string,
  env: { accessKeyId?: string | undefined; secretAccessKey?: string | undefined },
): string | undefined {
  if (existsSync(path)) return undefined
  const accessKeyId = env.accessKeyId || newAccessKeyId()
  const secretAccessKey = env.secretAccessKey || newSecretAccessKey()
  const file: PrincipalsFile = {
    accounts: [
      {
        id: DEFAULT_ACCOUNT_ID,
        users: [
          {
            name: 'admin',
            accessKeys: [{ accessKeyId, secretAccessKey }],
            policies: [ADMINISTRATOR_POLICY],
          },
        ],
      },
    ],
  }
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  return accessKeyId
}

/**
 * Whether `arn`, as a key policy names it, is a principal Keyward knows (AWS checks that the
 * principals of a key policy exist when it is set: kms-authz.md §8, "Policy contains a
 * statement with one or more invalid principals."). Account principals are accepted for any
 * account, as for AWS, where an account ID names no entity to look up; a user or role must be
 * in the principals file; an assumed-role session needs its role (sessions themselves come and
 * go). Federated users cannot be called as here, so they match no caller, but are accepted:
 * like sessions, they are not entities AWS can look up.
 *
 * @example
 *   knownPrincipal(principals, 'arn:aws:iam::111122223333:user/admin') // true
 */
export function knownPrincipal(principals: Principals, arn: string): boolean {
  const parts = arn.split(':')
  const [service, account, resource = ''] = [parts[2], parts[4], parts.slice(5).join(':')]
  if (resource === 'root') return true
  if (service === 'iam' && resource.startsWith('user/')) return principals.users?.has(arn) ?? false
  if (service === 'iam' && resource.startsWith('role/')) return principals.roles?.has(arn) ?? false
  if (service === 'sts' && resource.startsWith('assumed-role/')) {
    const roleName = resource.split('/')[1]
    for (const role of principals.roles?.values() ?? []) {
      if (role.accountId === account && role.name === roleName) return true
    }
    return false
  }
  return service === 'sts' && resource.startsWith('federated-user/')
}
