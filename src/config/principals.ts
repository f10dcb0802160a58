import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { Caller } from '../domain/caller.js'
import type { Credential } from '../sigv4/sigv4.js'
import { readHsmClusters, type HsmClusterConfig } from './hsm-clusters.js'
import { readQuotaConfig, type QuotaConfig } from './quotas.js'
import { readXksClientConfig, type XksClientConfig } from './xks-client.js'

/** The account Keyward's first admin belongs to (AWS's documentation example account). */
export const DEFAULT_ACCOUNT_ID = '111122223333'

/**
 * The principals file (JSON). Example:
 *
 *   {
 *     "regions": ["us-east-1", "eu-west-1"],
 *     "accounts": [{
 *       "id": "111122223333",
 *       "users": [{ "name": "admin",
 *                   "accessKeys": [{ "accessKeyId": "AKIA…", "secretAccessKey": "…" }] }]
 *     }]
 *   }
 *
 * `regions` is optional: without it every well-formed Region name is served. The optional
 * `cloudHsmClusters` declares the HSMs custom key stores may use (see hsm-clusters.ts), and the
 * optional `xksClient` how external key store proxies are reached (see xks-client.ts), and the
 * optional `quotas` AWS's resource and request quotas (see quotas.ts).
 */
export interface PrincipalsFile {
  readonly regions?: readonly string[]
  readonly cloudHsmClusters?: readonly HsmClusterConfig[]
  readonly xksClient?: unknown
  readonly quotas?: unknown
  readonly accounts: ReadonlyArray<{
    readonly id: string
    readonly users: ReadonlyArray<{
      readonly name: string
      readonly accessKeys: ReadonlyArray<{
        readonly accessKeyId: string
        readonly secretAccessKey: string
        readonly sessionToken?: string
      }>
    }>
  }>
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

/** The admin user of `accountId`. */
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

function assertShape(file: PrincipalsFile, path: string): void {
  const bad = (why: string) => new Error(`${path}: ${why}`)
  if (!Array.isArray(file.accounts)) throw bad('"accounts" must be a list')
  // One access key ID names one principal: a second one would silently replace the first.
  const seen = new Set<string>()
  for (const a of file.accounts) {
    if (!/^\d{12}$/.test(a.id ?? '')) throw bad(`account id ${a.id} is not 12 digits`)
    for (const u of a.users ?? []) {
      if (!u.name) throw bad(`a user of account ${a.id} has no name`)
      for (const k of u.accessKeys ?? []) {
        if (!k.accessKeyId || !k.secretAccessKey)
          throw bad(`user ${u.name} has an incomplete access key`)
        if (seen.has(k.accessKeyId)) throw bad(`access key ID ${k.accessKeyId} is listed twice`)
        seen.add(k.accessKeyId)
      }
    }
  }
  if (file.regions !== undefined) {
    if (!Array.isArray(file.regions)) throw bad('"regions" must be a list')
    for (const r of file.regions) {
      if (typeof r !== 'string' || !REGION.test(r)) throw bad(`${r} is not a Region name`)
    }
  }
}

/** Reads a principals file into a credential map. */
export function readPrincipals(
  path: string,
  extra?: { accessKeyId: string; secretAccessKey: string },
): Principals {
  let file: PrincipalsFile
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as PrincipalsFile
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error
    throw new Error(`${path}: not valid JSON (${error.message})`)
  }
  assertShape(file, path)
  const cloudHsmClusters = readHsmClusters(file.cloudHsmClusters, path)
  const xksClient = readXksClientConfig(file.xksClient, path)
  const quotas = readQuotaConfig(file.quotas, path)
  const credentials = new Map<string, Credential<Caller>>()
  for (const account of file.accounts) {
    for (const user of account.users ?? []) {
      const principal = {
        accountId: account.id,
        arn: `arn:aws:iam::${account.id}:user/${user.name}`,
      }
      for (const k of user.accessKeys ?? []) {
        credentials.set(k.accessKeyId, {
          secretAccessKey: k.secretAccessKey,
          ...(k.sessionToken ? { sessionToken: k.sessionToken } : {}),
          principal,
        })
      }
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
  }
}

/**
 * Creates the principals file on first start: one admin access key for account 111122223333,
 * from the environment or freshly generated, in a file readable only by its owner (0600).
 * Returns the access key ID when a file was created.
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
        users: [{ name: 'admin', accessKeys: [{ accessKeyId, secretAccessKey }] }],
      },
    ],
  }
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  return accessKeyId
}
