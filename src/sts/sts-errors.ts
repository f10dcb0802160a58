import { isKmsException } from '../domain/kms-exception.js'

/**
 * An STS error as the AWS Query protocol sends it (STS API Reference, "Common Errors"):
 * `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>
 * <RequestId>…</RequestId></ErrorResponse>` with the HTTP status of the code.
 */
export class StsError extends Error {
  override readonly name = 'StsError'
  readonly code: string
  readonly status: number

  constructor(code: string, message: string, status = 400) {
    super(message)
    this.code = code
    this.status = status
  }
}

/** AWS's STS messages that Keyward reproduces (STS API Reference, AssumeRole and GetSessionToken). */
export const STS_MESSAGES = {
  notAuthorized: (callerArn: string, action: string, resource: string) =>
    `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource}`,
  durationOverRoleMax:
    'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
  durationOverChainLimit:
    'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
  sessionTokenFromSession: 'Cannot call GetSessionToken with session credentials',
  unknownAction: (action: string) => `Could not find operation ${action} for version 2011-06-15`,
} as const

/**
 * The STS form of a SigV4 failure raised by the shared verifier (which names KMS's JSON
 * exceptions): the same message under STS's Query error code and status.
 */
const SIGV4_CODES: Record<string, [string, number]> = {
  MissingAuthenticationTokenException: ['MissingAuthenticationToken', 403],
  IncompleteSignatureException: ['IncompleteSignature', 400],
  InvalidSignatureException: ['SignatureDoesNotMatch', 403],
  UnrecognizedClientException: ['InvalidClientTokenId', 403],
  ExpiredTokenException: ['ExpiredToken', 400],
}

/** `error` as an StsError, or undefined when it is none of the known ones (an internal error). */
export function toStsError(error: unknown): StsError | undefined {
  if (error instanceof StsError) return error
  if (isKmsException(error)) {
    const mapped = SIGV4_CODES[error.name]
    if (mapped) return new StsError(mapped[0], error.message, mapped[1])
  }
  return undefined
}

/** XML text escape (XML 1.0 §2.4). */
export const xmlEscape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The XML body of an STS error. */
export function errorXml(error: StsError, requestId: string): string {
  return (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n' +
    `  <Error>\n    <Type>Sender</Type>\n    <Code>${xmlEscape(error.code)}</Code>\n` +
    `    <Message>${xmlEscape(error.message)}</Message>\n  </Error>\n` +
    `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`
  )
}
