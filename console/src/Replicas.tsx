import {
  ReplicateKeyCommand,
  UpdatePrimaryRegionCommand,
  type KeyMetadata,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { useState } from 'react'
import { errorText } from './session.ts'
import { ErrorBox, FieldError } from './ui.tsx'

/** An AWS Region name as ReplicateKey takes it (`us-east-1`, `ap-southeast-2`, …). */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/

/**
 * A multi-Region key's related keys (Developer Guide, "Multi-Region keys"): the primary and its
 * replicas with their Regions; on the primary, ReplicateKey into another Region and
 * UpdatePrimaryRegion to make a replica the primary. The calls go to this key's Region.
 */
export function Replicas(props: {
  client: KMSClient
  metadata: KeyMetadata
  onChanged: () => Promise<void>
}) {
  const config = props.metadata.MultiRegionConfiguration
  const primary = config?.MultiRegionKeyType === 'PRIMARY'
  const [region, setRegion] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const keyId = props.metadata.KeyId ?? ''
  const taken = new Set([
    config?.PrimaryKey?.Region,
    ...(config?.ReplicaKeys ?? []).map((r) => r.Region),
  ])
  const invalid = !region
    ? undefined
    : !REGION.test(region)
      ? 'A Region name such as eu-west-1.'
      : taken.has(region)
        ? 'This key already has a related key in that Region.'
        : undefined
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true)
    setError(undefined)
    try {
      await fn()
      await props.onChanged()
      return true
    } catch (e) {
      setError(errorText(e))
      return false
    } finally {
      setBusy(false)
    }
  }
  return (
    <section aria-labelledby="replicas-title">
      <h2 id="replicas-title">Multi-Region</h2>
      <p>
        This key is the <strong>{primary ? 'primary' : 'replica'}</strong> of a multi-Region key.
        Primary: {config?.PrimaryKey?.Region ?? '—'}.
      </p>
      <ul aria-label="Replicas">
        {(config?.ReplicaKeys ?? []).map((r) => (
          <li key={r.Arn}>
            Replica in {r.Region}{' '}
            {primary && (
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  void run(() =>
                    props.client.send(
                      new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: r.Region }),
                    ),
                  )
                }
              >
                Make {r.Region} the primary
              </button>
            )}
          </li>
        ))}
        {(config?.ReplicaKeys ?? []).length === 0 && <li>No replicas.</li>}
      </ul>
      {primary && (
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault()
            if (!region || invalid) return
            void run(() =>
              props.client.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: region })),
            ).then((ok) => {
              if (ok) setRegion('')
            })
          }}
        >
          <label htmlFor="replica-region">Replica Region</label>
          <input
            id="replica-region"
            value={region}
            aria-describedby="replica-region-error"
            onChange={(e) => setRegion(e.target.value.trim())}
          />
          <button type="submit" disabled={busy || !region || !!invalid}>
            Replicate key
          </button>
          <FieldError id="replica-region-error" message={invalid} />
        </form>
      )}
      <ErrorBox error={error} />
    </section>
  )
}
