/**
 * Who sent a request, as authentication established it. The optional members are what
 * policies need (IAM User Guide, "AWS global condition context keys"): they are filled from the
 * principals file for IAM users and from the session token for assumed-role sessions.
 */
export interface Caller {
  readonly accountId: string
  /** IAM-style ARN, e.g. arn:aws:iam::111122223333:user/admin */
  readonly arn: string
  /** The kind of identity; absent for callers built before principals carried it (admin). */
  readonly principalType?: 'user' | 'assumed-role' | 'root'
  /** IAM user name (users only): the value of `aws:username`. */
  readonly userName?: string
  /** Unique ID: `AIDA…` for users, `AROA…:<session>` for sessions (`aws:userid`). */
  readonly userId?: string
  /** Tags of the user, or of the role plus the session's tags (session tags win). */
  readonly tags?: Readonly<Record<string, string>>
  /** For an assumed-role session: the role's ARN, `arn:aws:iam::<account>:role/<name>`. */
  readonly roleArn?: string
  /** For an assumed-role session: its RoleSessionName. */
  readonly sessionName?: string
  /** The access key ID the request was signed with. */
  readonly accessKeyId?: string
  /**
   * Identity policy documents as JSON objects: the user's and its groups', or the role's.
   * Undefined means a user written before policies existed: an administrator (issue 12).
   */
  readonly identityPolicies?: readonly unknown[]
  /** The session policy passed to AssumeRole (JSON object); it can only narrow. */
  readonly sessionPolicy?: unknown
}
