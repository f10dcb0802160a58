import {
  CreateGrantCommand,
  ListGrantsCommand,
  RevokeGrantCommand,
  type GrantListEntry,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { useCallback, useEffect, useState } from 'react'
import { errorText } from './session.ts'
import { ErrorBox, FieldError, formatDate } from './ui.tsx'

/** CreateGrant's Operations values (API Reference, GrantOperation). */
const GRANT_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
]

/** The grants of a key: list (ListGrants, every page), create, revoke. */
export function Grants(props: { client: KMSClient; keyId: string }) {
  const [grants, setGrants] = useState<GrantListEntry[]>([])
  const [grantee, setGrantee] = useState('')
  const [name, setName] = useState('')
  const [operations, setOperations] = useState<string[]>([])
  const [tried, setTried] = useState(false)
  const [error, setError] = useState<string>()
  const [notice, setNotice] = useState<string>()
  const load = useCallback(async () => {
    try {
      const all: GrantListEntry[] = []
      let marker: string | undefined
      do {
        const out = await props.client.send(
          new ListGrantsCommand({ KeyId: props.keyId, Marker: marker }),
        )
        all.push(...(out.Grants ?? []))
        marker = out.Truncated ? out.NextMarker : undefined
      } while (marker)
      setGrants(all)
    } catch (e) {
      setError(errorText(e))
    }
  }, [props.client, props.keyId])
  useEffect(() => {
    void load()
  }, [load])
  // CreateGrant: GranteePrincipal 1–256 characters, at least one operation (API Reference).
  const granteeError =
    grantee.length >= 1 && grantee.length <= 256
      ? undefined
      : 'Enter the grantee principal (an ARN, 1 to 256 characters).'
  const operationsError = operations.length > 0 ? undefined : 'Choose at least one operation.'
  const nameError = /^[a-zA-Z0-9:/_-]{0,256}$/.test(name)
    ? undefined
    : 'A grant name may contain only letters, digits, :, /, _ and -.'
  const run = async (fn: () => Promise<unknown>, done: string) => {
    setError(undefined)
    setNotice(undefined)
    try {
      await fn()
      setNotice(done)
      await load()
    } catch (e) {
      setError(errorText(e))
    }
  }
  return (
    <section aria-labelledby="grants-title">
      <h2 id="grants-title">Grants</h2>
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Grants table">
        <table>
          <thead>
            <tr>
              <th scope="col">Grant ID</th>
              <th scope="col">Name</th>
              <th scope="col">Grantee</th>
              <th scope="col">Operations</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {grants.map((g) => (
              <tr key={g.GrantId}>
                <td>{g.GrantId}</td>
                <td>{g.Name}</td>
                <td>{g.GranteePrincipal}</td>
                <td>{(g.Operations ?? []).join(', ')}</td>
                <td>{formatDate(g.CreationDate)}</td>
                <td>
                  <button
                    type="button"
                    aria-label={`Revoke grant ${g.GrantId ?? ''}`}
                    onClick={() =>
                      void run(
                        () =>
                          props.client.send(
                            new RevokeGrantCommand({ KeyId: props.keyId, GrantId: g.GrantId }),
                          ),
                        'Grant revoked.',
                      )
                    }
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
            {grants.length === 0 && (
              <tr>
                <td colSpan={6}>No grants.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault()
          setTried(true)
          if (granteeError || operationsError || nameError) return
          void run(
            () =>
              props.client.send(
                new CreateGrantCommand({
                  KeyId: props.keyId,
                  GranteePrincipal: grantee,
                  Operations: operations as never,
                  ...(name ? { Name: name } : {}),
                }),
              ),
            'Grant created.',
          ).then(() => setTried(false))
        }}
      >
        <h3>Create grant</h3>
        <label htmlFor="grantee">Grantee principal (ARN)</label>
        <input
          id="grantee"
          value={grantee}
          placeholder="arn:aws:iam::111122223333:role/app"
          aria-describedby={tried && granteeError ? 'grantee-error' : undefined}
          onChange={(e) => setGrantee(e.target.value)}
        />
        <FieldError id="grantee-error" message={tried ? granteeError : undefined} />
        <label htmlFor="grant-name">Name (optional)</label>
        <input
          id="grant-name"
          value={name}
          aria-describedby={nameError ? 'grant-name-error' : undefined}
          onChange={(e) => setName(e.target.value)}
        />
        <FieldError id="grant-name-error" message={nameError} />
        <fieldset>
          <legend>Operations</legend>
          <div className="checks">
            {GRANT_OPERATIONS.map((op) => (
              <label key={op} className="check">
                <input
                  type="checkbox"
                  checked={operations.includes(op)}
                  onChange={(e) =>
                    setOperations(
                      e.target.checked ? [...operations, op] : operations.filter((o) => o !== op),
                    )
                  }
                />
                {op}
              </label>
            ))}
          </div>
          <FieldError id="operations-error" message={tried ? operationsError : undefined} />
        </fieldset>
        <button type="submit">Create grant</button>
      </form>
      {notice && <p role="status">{notice}</p>}
      <ErrorBox error={error} />
    </section>
  )
}
