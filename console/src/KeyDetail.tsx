import {
  CreateAliasCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  GetPublicKeyCommand,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  RotateKeyOnDemandCommand,
  EnableKeyRotationCommand,
  DisableKeyRotationCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type KeyMetadata,
  type KMSClient,
  type RotationsListEntry,
  type Tag,
} from '@aws-sdk/client-kms'
import { useCallback, useEffect, useState } from 'react'
import { Grants } from './Grants.tsx'
import { Replicas } from './Replicas.tsx'
import { ImportWizard } from './ImportWizard.tsx'
import { KeyActions } from './KeyActions.tsx'
import { aliasError, originText, statusText, tagError } from './keys.ts'
import { errorText } from './session.ts'
import { download, ErrorBox, FieldError, formatDate } from './ui.tsx'

/** Runs a KMS call and shows AWS's message when it is refused. */
function useCall() {
  const [error, setError] = useState<string>()
  const call = async (fn: () => Promise<unknown>): Promise<boolean> => {
    setError(undefined)
    try {
      await fn()
      return true
    } catch (e) {
      setError(errorText(e))
      return false
    }
  }
  return { error, setError, call }
}

/** The detail page of one key. */
export function KeyDetail(props: { client: KMSClient; keyId: string }) {
  const { client, keyId } = props
  const [m, setM] = useState<KeyMetadata>()
  const [aliases, setAliases] = useState<string[]>([])
  const { error, setError } = useCall()
  const load = useCallback(async () => {
    try {
      const out = await client.send(new DescribeKeyCommand({ KeyId: keyId }))
      setM(out.KeyMetadata)
      const a = await client.send(new ListAliasesCommand({ KeyId: out.KeyMetadata?.KeyId }))
      setAliases((a.Aliases ?? []).map((x) => x.AliasName ?? ''))
    } catch (e) {
      setError(errorText(e))
    }
  }, [client, keyId, setError])
  useEffect(() => {
    void load()
  }, [load])

  if (!m)
    return (
      <section>
        <h1>Key {keyId}</h1>
        <ErrorBox error={error} />
      </section>
    )
  const label = aliases[0] ?? m.KeyId ?? keyId
  const asymmetric = m.KeySpec !== 'SYMMETRIC_DEFAULT' && !m.KeySpec?.startsWith('HMAC_')
  const rotatable =
    m.KeySpec === 'SYMMETRIC_DEFAULT' && (m.Origin === 'AWS_KMS' || m.Origin === 'EXTERNAL')
  return (
    <section aria-labelledby="key-title">
      <p>
        <a href="#/keys">← Keys</a>
      </p>
      <div className="page-head">
        <h1 id="key-title">{label}</h1>
        <KeyActions
          client={client}
          metadata={m}
          label={label}
          onChanged={() => void load()}
          onError={setError}
        />
      </div>
      <ErrorBox error={error} />
      <h2>General configuration</h2>
      <dl className="facts">
        <dt>Key ID</dt>
        <dd>{m.KeyId}</dd>
        <dt>ARN</dt>
        <dd>{m.Arn}</dd>
        <dt>Status</dt>
        <dd className="status">{statusText(m)}</dd>
        <dt>Description</dt>
        <dd>{m.Description || '—'}</dd>
        <dt>Created</dt>
        <dd>{formatDate(m.CreationDate)}</dd>
        <dt>Key spec</dt>
        <dd>{m.KeySpec}</dd>
        <dt>Key usage</dt>
        <dd>{m.KeyUsage}</dd>
        <dt>Algorithms</dt>
        <dd>
          {[
            ...(m.EncryptionAlgorithms ?? []),
            ...(m.SigningAlgorithms ?? []),
            ...(m.MacAlgorithms ?? []),
            ...(m.KeyAgreementAlgorithms ?? []),
          ].join(', ')}
        </dd>
        <dt>Origin / protection</dt>
        <dd>{originText(m)}</dd>
        {m.XksKeyConfiguration?.Id && (
          <>
            <dt>External key ID</dt>
            <dd>{m.XksKeyConfiguration.Id}</dd>
          </>
        )}
        {m.Origin === 'EXTERNAL' && (
          <>
            <dt>Key material expires</dt>
            <dd>
              {m.ExpirationModel === 'KEY_MATERIAL_EXPIRES'
                ? formatDate(m.ValidTo)
                : m.ExpirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE'
                  ? 'Never'
                  : '—'}
            </dd>
          </>
        )}
      </dl>
      <Aliases client={client} keyId={m.KeyId ?? keyId} aliases={aliases} onChanged={load} />
      <Tags client={client} keyId={m.KeyId ?? keyId} />
      <KeyPolicy client={client} keyId={m.KeyId ?? keyId} />
      <Grants client={client} keyId={m.KeyId ?? keyId} />
      {m.MultiRegion && <Replicas client={client} metadata={m} onChanged={load} />}
      {rotatable && <Rotation client={client} metadata={m} onChanged={load} />}
      {m.Origin === 'EXTERNAL' && <ImportWizard client={client} metadata={m} onChanged={load} />}
      {asymmetric && <PublicKey client={client} keyId={m.KeyId ?? keyId} />}
    </section>
  )
}

function Aliases(props: {
  client: KMSClient
  keyId: string
  aliases: string[]
  onChanged: () => Promise<void>
}) {
  const [name, setName] = useState('')
  const { error, call } = useCall()
  const invalid = aliasError(name)
  const add = async () => {
    if (!name || invalid) return
    const alias = name.startsWith('alias/') ? name : `alias/${name}`
    const ok = await call(() =>
      props.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: props.keyId })),
    )
    if (ok) {
      setName('')
      await props.onChanged()
    }
  }
  return (
    <section aria-labelledby="aliases-title">
      <h2 id="aliases-title">Aliases</h2>
      <ul>
        {props.aliases.map((a) => (
          <li key={a}>
            {a}{' '}
            <button
              type="button"
              aria-label={`Remove alias ${a}`}
              onClick={() =>
                void call(() => props.client.send(new DeleteAliasCommand({ AliasName: a }))).then(
                  (ok) => {
                    if (ok) void props.onChanged()
                  },
                )
              }
            >
              Remove
            </button>
          </li>
        ))}
        {props.aliases.length === 0 && <li>No aliases.</li>}
      </ul>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault()
          void add()
        }}
      >
        <label htmlFor="new-alias">New alias</label>
        <input
          id="new-alias"
          value={name}
          placeholder="alias/name"
          aria-describedby={invalid ? 'new-alias-error' : undefined}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" disabled={!name || !!invalid}>
          Add alias
        </button>
        <FieldError id="new-alias-error" message={invalid} />
      </form>
      <ErrorBox error={error} />
    </section>
  )
}

function Tags(props: { client: KMSClient; keyId: string }) {
  const [tags, setTags] = useState<Tag[]>([])
  const [key, setKey] = useState('')
  const [value, setValue] = useState('')
  const { error, call } = useCall()
  const load = useCallback(async () => {
    await call(async () => {
      const out = await props.client.send(new ListResourceTagsCommand({ KeyId: props.keyId }))
      setTags(out.Tags ?? [])
    })
  }, [props.client, props.keyId])
  useEffect(() => {
    void load()
  }, [load])
  const invalid = key || value ? tagError(key, value) : undefined
  return (
    <section aria-labelledby="tags-title">
      <h2 id="tags-title">Tags</h2>
      <ul>
        {tags.map((t) => (
          <li key={t.TagKey}>
            {t.TagKey} = {t.TagValue}{' '}
            <button
              type="button"
              aria-label={`Remove tag ${t.TagKey}`}
              onClick={() =>
                void call(() =>
                  props.client.send(
                    new UntagResourceCommand({ KeyId: props.keyId, TagKeys: [t.TagKey ?? ''] }),
                  ),
                ).then((ok) => {
                  if (ok) void load()
                })
              }
            >
              Remove
            </button>
          </li>
        ))}
        {tags.length === 0 && <li>No tags.</li>}
      </ul>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault()
          if (!key || invalid) return
          void call(() =>
            props.client.send(
              new TagResourceCommand({
                KeyId: props.keyId,
                Tags: [{ TagKey: key, TagValue: value }],
              }),
            ),
          ).then((ok) => {
            if (ok) {
              setKey('')
              setValue('')
              void load()
            }
          })
        }}
      >
        <label htmlFor="tag-key">Tag key</label>
        <input id="tag-key" value={key} onChange={(e) => setKey(e.target.value)} />
        <label htmlFor="tag-value">Tag value</label>
        <input id="tag-value" value={value} onChange={(e) => setValue(e.target.value)} />
        <button type="submit" disabled={!key || !!invalid}>
          Add or update tag
        </button>
        <FieldError id="tag-error" message={invalid} />
      </form>
      <ErrorBox error={error} />
    </section>
  )
}

/** A key policy document's shape as PutKeyPolicy would refuse it, checked before sending. */
export function policyError(text: string): string | undefined {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    return `The policy is not valid JSON: ${(e as Error).message}`
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return 'The policy must be a JSON object.'
  if (!('Statement' in doc)) return 'The policy must have a Statement.'
  // PutKeyPolicy: Policy is at most 32768 characters (API Reference).
  if (text.length > 32768) return 'The policy must be at most 32768 characters.'
  return undefined
}

function KeyPolicy(props: { client: KMSClient; keyId: string }) {
  const [policy, setPolicy] = useState<string>()
  const [draft, setDraft] = useState<string>()
  const [bypass, setBypass] = useState(false)
  const [saved, setSaved] = useState(false)
  const { error, call } = useCall()
  const load = useCallback(() => {
    void call(async () => {
      const out = await props.client.send(new GetKeyPolicyCommand({ KeyId: props.keyId }))
      setPolicy(JSON.stringify(JSON.parse(out.Policy ?? '{}'), null, 2))
    })
  }, [props.client, props.keyId])
  useEffect(load, [load])
  const invalid = draft === undefined ? undefined : policyError(draft)
  return (
    <section aria-labelledby="policy-title">
      <h2 id="policy-title">Key policy</h2>
      {draft === undefined ? (
        <>
          <pre className="policy" tabIndex={0} aria-label="Key policy document">
            {policy}
          </pre>
          {saved && <p role="status">Key policy saved.</p>}
          <button type="button" onClick={() => setDraft(policy ?? '')} disabled={!policy}>
            Edit key policy
          </button>
        </>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault()
            if (invalid) return
            void call(() =>
              props.client.send(
                new PutKeyPolicyCommand({
                  KeyId: props.keyId,
                  Policy: draft,
                  BypassPolicyLockoutSafetyCheck: bypass,
                }),
              ),
            ).then((ok) => {
              if (ok) {
                setDraft(undefined)
                setSaved(true)
                load()
              }
            })
          }}
        >
          <p className="warning">
            A key policy that does not let a principal manage the key can make it unmanageable (AWS
            KMS Developer Guide, &quot;Default key policy&quot;). Keep a statement that allows the
            account&apos;s root or an administrator kms:PutKeyPolicy.
          </p>
          <label htmlFor="policy-editor">Key policy (JSON)</label>
          <textarea
            id="policy-editor"
            rows={16}
            spellCheck={false}
            value={draft}
            aria-describedby={invalid ? 'policy-error' : undefined}
            onChange={(e) => setDraft(e.target.value)}
          />
          <FieldError id="policy-error" message={invalid} />
          <label className="check">
            <input type="checkbox" checked={bypass} onChange={(e) => setBypass(e.target.checked)} />
            Bypass the policy lockout safety check. Setting this increases the risk that the key
            becomes unmanageable; do not set it indiscriminately.
          </label>
          <div className="buttons">
            <button type="button" onClick={() => setDraft(undefined)}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={!!invalid}>
              Save key policy
            </button>
          </div>
        </form>
      )}
      <ErrorBox error={error} />
    </section>
  )
}

/** EnableKeyRotation's RotationPeriodInDays: 90 to 2560, 365 by default (API Reference). */
function periodError(text: string): string | undefined {
  const n = Number(text)
  return /^\d+$/.test(text) && n >= 90 && n <= 2560
    ? undefined
    : 'The rotation period must be a whole number of days from 90 to 2560.'
}

function Rotation(props: {
  client: KMSClient
  metadata: KeyMetadata
  onChanged: () => Promise<void>
}) {
  const keyId = props.metadata.KeyId ?? ''
  const [enabled, setEnabled] = useState(false)
  const [period, setPeriod] = useState('365')
  const [next, setNext] = useState<Date>()
  const [history, setHistory] = useState<RotationsListEntry[]>([])
  const [notice, setNotice] = useState<string>()
  const { error, call } = useCall()
  const load = useCallback(() => {
    void call(async () => {
      const s = await props.client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))
      setEnabled(s.KeyRotationEnabled ?? false)
      if (s.RotationPeriodInDays) setPeriod(String(s.RotationPeriodInDays))
      setNext(s.NextRotationDate)
      const h = await props.client.send(new ListKeyRotationsCommand({ KeyId: keyId }))
      setHistory(h.Rotations ?? [])
    })
  }, [props.client, keyId])
  useEffect(load, [load])
  const invalid = enabled ? periodError(period) : undefined
  return (
    <section aria-labelledby="rotation-title">
      <h2 id="rotation-title">Key rotation</h2>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault()
          if (invalid) return
          void call(() =>
            props.client.send(
              enabled
                ? new EnableKeyRotationCommand({
                    KeyId: keyId,
                    RotationPeriodInDays: Number(period),
                  })
                : new DisableKeyRotationCommand({ KeyId: keyId }),
            ),
          ).then((ok) => {
            if (ok) {
              setNotice('Rotation settings saved.')
              load()
            }
          })
        }}
      >
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          Rotate automatically
        </label>
        <label htmlFor="rotation-period">Rotation period (days)</label>
        <input
          id="rotation-period"
          type="number"
          min={90}
          max={2560}
          value={period}
          disabled={!enabled}
          aria-describedby={invalid ? 'rotation-period-error' : undefined}
          onChange={(e) => setPeriod(e.target.value)}
        />
        <button type="submit" disabled={!!invalid}>
          Save rotation
        </button>
        <FieldError id="rotation-period-error" message={invalid} />
      </form>
      {next && <p>Next automatic rotation: {formatDate(next)}</p>}
      <button
        type="button"
        onClick={() =>
          void call(() => props.client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))).then(
            (ok) => {
              if (ok) {
                setNotice('Rotation started.')
                load()
              }
            },
          )
        }
      >
        Rotate now
      </button>
      {notice && <p role="status">{notice}</p>}
      <ErrorBox error={error} />
      <h3>Rotation history</h3>
      <ul>
        {history.map((r) => (
          <li key={`${r.KeyMaterialId ?? ''}${r.RotationDate?.toISOString() ?? ''}`}>
            {formatDate(r.RotationDate)} (
            {r.RotationType === 'ON_DEMAND' ? 'on demand' : 'automatic'})
          </li>
        ))}
        {history.length === 0 && <li>Never rotated.</li>}
      </ul>
    </section>
  )
}

/** Base64 with line breaks every 64 characters, as PEM wants (RFC 7468). */
function pem(der: Uint8Array): string {
  let binary = ''
  for (const b of der) binary += String.fromCharCode(b)
  const lines = btoa(binary).match(/.{1,64}/g) ?? []
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`
}

function PublicKey(props: { client: KMSClient; keyId: string }) {
  const { error, call } = useCall()
  const fetchKey = (format: 'der' | 'pem') =>
    void call(async () => {
      const out = await props.client.send(new GetPublicKeyCommand({ KeyId: props.keyId }))
      const der = out.PublicKey ?? new Uint8Array()
      if (format === 'der') download(`${props.keyId}.public.der`, der, 'application/octet-stream')
      else download(`${props.keyId}.public.pem`, pem(der), 'application/x-pem-file')
    })
  return (
    <section aria-labelledby="public-key-title">
      <h2 id="public-key-title">Public key</h2>
      <button type="button" onClick={() => fetchKey('pem')}>
        Download public key (PEM)
      </button>{' '}
      <button type="button" onClick={() => fetchKey('der')}>
        Download public key (DER)
      </button>
      <ErrorBox error={error} />
    </section>
  )
}
