import {
  DEFAULT_ACCOUNT_ID,
  newAccessKeyId,
  newSecretAccessKey,
  type AccessKeyEntry,
  type AccountEntry,
  type PolicyEntry,
  type PrincipalsFile,
  type RoleEntry,
  type UserEntry,
} from './principals.js'

/**
 * Edits of a principals file, as `keyward principals` makes them: pure functions from a file to
 * the next file, refusing (with an Error naming what is wrong) an edit IAM would refuse, such as
 * a second user of the same name. The caller validates the result and writes it atomically.
 */

/** Which account an edit is about (111122223333 when absent). */
export interface InAccount {
  readonly account?: string
}

function withAccount(
  file: PrincipalsFile,
  accountId: string,
  edit: (account: AccountEntry) => AccountEntry,
): PrincipalsFile {
  const exists = file.accounts.some((a) => a.id === accountId)
  const accounts = exists ? file.accounts : [...file.accounts, { id: accountId, users: [] }]
  return { ...file, accounts: accounts.map((a) => (a.id === accountId ? edit(a) : a)) }
}

const accountOf = (options: InAccount) => options.account ?? DEFAULT_ACCOUNT_ID

/**
 * Adds an IAM user with the given identity policies (none by default: a new user has only what
 * it is given, issue 12).
 *
 * @example
 *   addUser(file, { name: 'alice', policies: [] })
 */
export function addUser(
  file: PrincipalsFile,
  options: InAccount & { name: string; policies?: readonly PolicyEntry[] },
): PrincipalsFile {
  const accountId = accountOf(options)
  return withAccount(file, accountId, (a) => {
    if (a.users.some((u) => u.name === options.name))
      throw new Error(`account ${accountId} already has a user named ${options.name}`)
    const user: UserEntry = { name: options.name, accessKeys: [], policies: options.policies ?? [] }
    return { ...a, users: [...a.users, user] }
  })
}

/**
 * Adds a role with its trust policy.
 *
 * @example
 *   addRole(file, { name: 'app', trustPolicy, maxSessionDuration: 7200 })
 */
export function addRole(
  file: PrincipalsFile,
  options: InAccount & {
    name: string
    trustPolicy: Record<string, unknown>
    maxSessionDuration?: number
  },
): PrincipalsFile {
  const accountId = accountOf(options)
  return withAccount(file, accountId, (a) => {
    if ((a.roles ?? []).some((r) => r.name === options.name))
      throw new Error(`account ${accountId} already has a role named ${options.name}`)
    const role: RoleEntry = {
      name: options.name,
      trustPolicy: options.trustPolicy,
      policies: [],
      ...(options.maxSessionDuration !== undefined
        ? { maxSessionDuration: options.maxSessionDuration }
        : {}),
    }
    return { ...a, roles: [...(a.roles ?? []), role] }
  })
}

/** IAM's quota of access keys per user (IAM User Guide, "IAM object quotas"). */
const MAX_ACCESS_KEYS_PER_USER = 2

/**
 * Issues a new access key for a user, as `aws iam create-access-key` does (at most two).
 *
 * @example
 *   const { file: next, key } = createAccessKey(file, { user: 'alice' })
 */
export function createAccessKey(
  file: PrincipalsFile,
  options: InAccount & { user: string },
): { file: PrincipalsFile; key: AccessKeyEntry } {
  const accountId = accountOf(options)
  const key = { accessKeyId: newAccessKeyId(), secretAccessKey: newSecretAccessKey() }
  const next = withAccount(file, accountId, (a) => {
    const user = a.users.find((u) => u.name === options.user)
    if (!user) throw new Error(`account ${accountId} has no user named ${options.user}`)
    if (user.accessKeys.length >= MAX_ACCESS_KEYS_PER_USER)
      throw new Error(
        `user ${options.user} already has ${MAX_ACCESS_KEYS_PER_USER} access keys, IAM's limit: revoke one first`,
      )
    const users = a.users.map((u) =>
      u === user ? { ...u, accessKeys: [...u.accessKeys, key] } : u,
    )
    return { ...a, users }
  })
  return { file: next, key }
}

/**
 * Removes an access key, wherever it is; the running server refuses it once it rereads the file.
 *
 * @example
 *   revokeAccessKey(file, 'AKIA…')
 */
export function revokeAccessKey(file: PrincipalsFile, accessKeyId: string): PrincipalsFile {
  let found = false
  const accounts = file.accounts.map((a) => ({
    ...a,
    users: a.users.map((u) => {
      const accessKeys = u.accessKeys.filter((k) => k.accessKeyId !== accessKeyId)
      if (accessKeys.length !== u.accessKeys.length) found = true
      return { ...u, accessKeys }
    }),
  }))
  if (!found) throw new Error(`no user has the access key ${accessKeyId}`)
  return { ...file, accounts }
}

/** What an attached policy is attached to. */
export type PolicyTarget = { user: string } | { role: string } | { group: string }

/**
 * Attaches (or replaces, by name) an identity policy of a user, role or group. A group that
 * does not exist yet is created. Attaching to a user without `policies` (an administrator of an
 * older file) gives it exactly this policy: it stops being an administrator.
 *
 * @example
 *   attachPolicy(file, { user: 'alice' }, { name: 'encrypt', document })
 */
export function attachPolicy(
  file: PrincipalsFile,
  target: PolicyTarget & InAccount,
  policy: PolicyEntry,
): PrincipalsFile {
  const accountId = accountOf(target)
  const put = (list: readonly PolicyEntry[] | undefined) => [
    ...(list ?? []).filter((p) => p.name !== policy.name),
    policy,
  ]
  return withAccount(file, accountId, (a) => {
    if ('user' in target) {
      if (!a.users.some((u) => u.name === target.user))
        throw new Error(`account ${accountId} has no user named ${target.user}`)
      const users = a.users.map((u) =>
        u.name === target.user ? { ...u, policies: put(u.policies) } : u,
      )
      return { ...a, users }
    }
    if ('role' in target) {
      if (!(a.roles ?? []).some((r) => r.name === target.role))
        throw new Error(`account ${accountId} has no role named ${target.role}`)
      const roles = (a.roles ?? []).map((r) =>
        r.name === target.role ? { ...r, policies: put(r.policies) } : r,
      )
      return { ...a, roles }
    }
    const groups = a.groups ?? []
    const exists = groups.some((g) => g.name === target.group)
    return {
      ...a,
      groups: exists
        ? groups.map((g) => (g.name === target.group ? { ...g, policies: put(g.policies) } : g))
        : [...groups, { name: target.group, policies: [policy] }],
    }
  })
}
