/** Who sent a request, as authentication established it. */
export interface Caller {
  readonly accountId: string
  /** IAM-style ARN, e.g. arn:aws:iam::111122223333:user/admin */
  readonly arn: string
}
