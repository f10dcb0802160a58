import { InvalidAliasNameException, ValidationException } from '../../domain/errors/exceptions.js'

/** Reserved for AWS managed keys (API Reference, CreateAlias: "cannot begin with alias/aws/"). */
const RESERVED_PREFIX = 'alias/aws/'

/**
 * What a customer alias may contain after `alias/` (API Reference, CreateAlias: "can contain
 * only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-)"). The
 * model's pattern `^[a-zA-Z0-9:/_-]+$` also lets ':' through, and an empty name.
 */
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/

/**
 * Refuses a name without the `alias/` prefix with the message recorded from AWS
 * (aws-recorded-errors.md, CreateAlias).
 *
 * @example
 *   assertAliasPrefix('alias/orders') // passes
 */
export function assertAliasPrefix(aliasName: string): void {
  if (!aliasName.startsWith('alias/')) {
    throw new ValidationException(
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    )
  }
}

/**
 * The rules for a new alias name, beyond the model's pattern: the `alias/` prefix, no
 * `alias/aws/` (reserved), and only the documented characters. The last two answer the
 * modeled InvalidAliasNameException ("the specified alias name is not valid"), where moto
 * sends an unmodeled NotAuthorizedException without a message for reserved names: a modeled
 * error with a reason is what an SDK user can handle.
 *
 * @example
 *   assertNewAliasName('alias/aws/s3') // InvalidAliasNameException
 */
export function assertNewAliasName(aliasName: string): void {
  assertAliasPrefix(aliasName)
  if (aliasName.startsWith(RESERVED_PREFIX)) {
    throw new InvalidAliasNameException(
      `Alias ${aliasName} is not valid: the alias/aws/ prefix is reserved for AWS managed keys.`,
    )
  }
  if (!ALIAS_NAME.test(aliasName)) {
    throw new InvalidAliasNameException(
      `Alias ${aliasName} is not valid: after alias/ an alias name contains only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-).`,
    )
  }
}
