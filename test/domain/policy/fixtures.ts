/** Principals, keys and policy builders shared by the policy evaluator tests. */
import type { CallerPrincipal } from '../../../src/domain/policy/principal.js'
import { parsePolicy } from '../../../src/domain/policy/document.js'

export const ACCOUNT = '111122223333'
export const OTHER = '444455556666'
export const KEY = `arn:aws:kms:us-west-2:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`
export const OTHER_KEY = `arn:aws:kms:us-west-2:${OTHER}:key/0987dcba-09fe-87dc-65ba-ab0987654321`

export const alice: CallerPrincipal = {
  type: 'user',
  account: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/Alice`,
  username: 'Alice',
  userid: 'AIDAEXAMPLEALICE',
  tags: { Department: 'IT' },
}
export const bob: CallerPrincipal = {
  type: 'user',
  account: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/Bob`,
  username: 'Bob',
}
export const root: CallerPrincipal = {
  type: 'root',
  account: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:root`,
}
export const otherRoot: CallerPrincipal = {
  type: 'root',
  account: OTHER,
  arn: `arn:aws:iam::${OTHER}:root`,
}
/** A session of role Engineering (path /team/) in ACCOUNT. */
export const engineer: CallerPrincipal = {
  type: 'assumed-role',
  account: ACCOUNT,
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Engineering/carol`,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/team/Engineering`,
  userid: 'AROAEXAMPLE:carol',
}

/** A key policy of the given statements (Version 2012-10-17). */
export const keyPolicy = (...statements: object[]) =>
  parsePolicy({ Version: '2012-10-17', Statement: statements }, { kind: 'key' })

/** An identity policy of the given statements (Version 2012-10-17). */
export const iamPolicy = (...statements: object[]) =>
  parsePolicy({ Version: '2012-10-17', Statement: statements }, { kind: 'identity' })

/** A key policy statement: Allow for `principal` (an AWS principal value). */
export const kpAllow = (principal: string | string[], action: string | string[], extra = {}) => ({
  Effect: 'Allow',
  Principal: { AWS: principal },
  Action: action,
  Resource: '*',
  ...extra,
})

/** An identity policy statement. */
export const iam = (
  effect: 'Allow' | 'Deny',
  action: string | string[],
  resource: string | string[] = '*',
  extra = {},
) => ({ Effect: effect, Action: action, Resource: resource, ...extra })
