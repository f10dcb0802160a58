import { KMSClient } from '@aws-sdk/client-kms'

/**
 * The signed-in user's credentials and Region. They live in this tab's sessionStorage only
 * (gone when the tab closes; sign-out removes them) and leave the browser only as SigV4
 * signatures made by the SDK.
 */
export interface Session {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
  readonly region: string
  /** Signed in by `keyward serve --dev`, not by a person. */
  readonly dev?: boolean
}

/** What GET /console/config.json says (src/wire/console-route.ts). */
export interface ServerConfig {
  readonly dev: boolean
  readonly regions: readonly string[]
}

const STORAGE_KEY = 'keyward.console.session'

/** A well-formed access key for `--dev`, where the server accepts any well-formed signature. */
export const DEV_CREDENTIALS = {
  accessKeyId: 'AKIAKEYWARDDEVCONSOLE',
  secretAccessKey: 'keyward-dev-mode-accepts-any-signature',
}

export function loadSession(): Session | undefined {
  const text = sessionStorage.getItem(STORAGE_KEY)
  if (!text) return undefined
  try {
    const s = JSON.parse(text) as Session
    return s.accessKeyId && s.secretAccessKey && s.region ? s : undefined
  } catch {
    return undefined
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session))
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY)
}

/** The KMS client of a session: this origin is the endpoint, every call is SigV4-signed. */
export function kmsClient(session: Session): KMSClient {
  return new KMSClient({
    endpoint: window.location.origin,
    region: session.region,
    credentials: {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      ...(session.sessionToken ? { sessionToken: session.sessionToken } : {}),
    },
    // A refused call is shown at once; a person can retry.
    maxAttempts: 1,
  })
}

/** AWS's answer as a person reads it: the exception name and its message. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : ''
    return `${name}${error.message}`
  }
  return String(error)
}

export const REGIONS_FALLBACK = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-northeast-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'sa-east-1',
]
