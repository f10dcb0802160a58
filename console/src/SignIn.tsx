import { useState } from 'react'
import type { Session } from './session.ts'

/**
 * Sign-in with an access key pair. Nothing is checked here or sent anywhere: the credentials
 * only sign the KMS calls the pages make, and the server's answer to those is the check.
 */
export function SignIn(props: { regions: readonly string[]; onSignIn: (s: Session) => void }) {
  const [accessKeyId, setAccessKeyId] = useState('')
  const [secretAccessKey, setSecret] = useState('')
  const [sessionToken, setToken] = useState('')
  const [region, setRegion] = useState(props.regions[0] ?? 'us-east-1')
  const [tried, setTried] = useState(false)
  // An access key id is 16 to 128 word characters (IAM API Reference, AccessKey).
  const idError = /^\w{16,128}$/.test(accessKeyId)
    ? undefined
    : 'An access key ID is 16 to 128 letters and digits.'
  const secretError = secretAccessKey ? undefined : 'Enter the secret access key.'
  return (
    <main className="sign-in">
      <h1>Sign in to Keyward</h1>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault()
          setTried(true)
          if (idError || secretError) return
          props.onSignIn({
            accessKeyId: accessKeyId.trim(),
            secretAccessKey,
            region,
            ...(sessionToken ? { sessionToken } : {}),
          })
        }}
      >
        <p>
          Your access key stays in this browser tab (session storage) and is used only to sign
          requests to this Keyward server. Signing out removes it.
        </p>
        <label htmlFor="access-key-id">Access key ID</label>
        <input
          id="access-key-id"
          autoComplete="username"
          value={accessKeyId}
          aria-describedby={tried && idError ? 'access-key-id-error' : undefined}
          onChange={(e) => setAccessKeyId(e.target.value)}
        />
        {tried && idError && (
          <p className="field-error" id="access-key-id-error">
            {idError}
          </p>
        )}
        <label htmlFor="secret-access-key">Secret access key</label>
        <input
          id="secret-access-key"
          type="password"
          autoComplete="current-password"
          value={secretAccessKey}
          aria-describedby={tried && secretError ? 'secret-error' : undefined}
          onChange={(e) => setSecret(e.target.value)}
        />
        {tried && secretError && (
          <p className="field-error" id="secret-error">
            {secretError}
          </p>
        )}
        <label htmlFor="session-token">Session token (temporary credentials only)</label>
        <input
          id="session-token"
          type="password"
          autoComplete="off"
          value={sessionToken}
          onChange={(e) => setToken(e.target.value)}
        />
        <label htmlFor="region">Region</label>
        <select id="region" value={region} onChange={(e) => setRegion(e.target.value)}>
          {props.regions.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <div className="buttons">
          <button type="submit" className="primary">
            Sign in
          </button>
        </div>
      </form>
    </main>
  )
}
