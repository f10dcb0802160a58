import {
  DeleteImportedKeyMaterialCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  type KeyMetadata,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { useState } from 'react'
import { errorText } from './session.ts'
import { ConfirmDialog, download, ErrorBox, FieldError, formatDate } from './ui.tsx'

/** GetParametersForImport's WrappingAlgorithm and WrappingKeySpec values (API Reference). */
const WRAPPING_ALGORITHMS = [
  'RSAES_OAEP_SHA_256',
  'RSAES_OAEP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
  'RSA_AES_KEY_WRAP_SHA_1',
  'RSAES_PKCS1_V1_5',
  'SM2PKE',
]
const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2']

async function bytesOf(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer())
}

/**
 * Importing key material, in AWS's three steps: download the wrapping public key and import
 * token, wrap the material outside (for example with openssl), upload the wrapped material
 * with the token and choose whether it expires.
 */
export function ImportWizard(props: {
  client: KMSClient
  metadata: KeyMetadata
  onChanged: () => Promise<void>
}) {
  const keyId = props.metadata.KeyId ?? ''
  const [algorithm, setAlgorithm] = useState('RSAES_OAEP_SHA_256')
  const [wrappingSpec, setWrappingSpec] = useState('RSA_4096')
  const [token, setToken] = useState<Uint8Array>()
  const [validTo, setParametersValidTo] = useState<Date>()
  const [material, setMaterial] = useState<File>()
  const [tokenFile, setTokenFile] = useState<File>()
  const [expires, setExpires] = useState(false)
  const [expiry, setExpiry] = useState('')
  const [error, setError] = useState<string>()
  const [notice, setNotice] = useState<string>()
  const [confirmDelete, setConfirmDelete] = useState(false)

  const expiryError =
    expires && !(expiry && new Date(`${expiry}Z`).getTime() > Date.now())
      ? 'Choose a date and time (UTC) in the future.'
      : undefined

  const getParameters = async () => {
    setError(undefined)
    try {
      const out = await props.client.send(
        new GetParametersForImportCommand({
          KeyId: keyId,
          WrappingAlgorithm: algorithm as never,
          WrappingKeySpec: wrappingSpec as never,
        }),
      )
      setToken(out.ImportToken)
      setParametersValidTo(out.ParametersValidTo)
      download(
        `WrappingPublicKey_${keyId}.bin`,
        out.PublicKey ?? new Uint8Array(),
        'application/octet-stream',
      )
      download(
        `ImportToken_${keyId}.bin`,
        out.ImportToken ?? new Uint8Array(),
        'application/octet-stream',
      )
      setNotice('Downloaded the wrapping public key (DER) and the import token.')
    } catch (e) {
      setError(errorText(e))
    }
  }

  const importMaterial = async () => {
    setError(undefined)
    if (!material || expiryError) return
    try {
      const importToken = tokenFile ? await bytesOf(tokenFile) : token
      if (!importToken) {
        setError('Download the import parameters first, or choose the import token file.')
        return
      }
      await props.client.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: importToken,
          EncryptedKeyMaterial: await bytesOf(material),
          ExpirationModel: expires ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          ...(expires ? { ValidTo: new Date(`${expiry}Z`) } : {}),
        }),
      )
      setNotice('Key material imported.')
      await props.onChanged()
    } catch (e) {
      setError(errorText(e))
    }
  }

  return (
    <section aria-labelledby="import-title">
      <h2 id="import-title">Key material</h2>
      <h3>Step 1: download the wrapping public key and import token</h3>
      <div className="inline">
        <label htmlFor="wrapping-algorithm">Wrapping algorithm</label>
        <select
          id="wrapping-algorithm"
          value={algorithm}
          onChange={(e) => setAlgorithm(e.target.value)}
        >
          {WRAPPING_ALGORITHMS.map((a) => (
            <option key={a}>{a}</option>
          ))}
        </select>
        <label htmlFor="wrapping-key-spec">Wrapping key spec</label>
        <select
          id="wrapping-key-spec"
          value={wrappingSpec}
          onChange={(e) => setWrappingSpec(e.target.value)}
        >
          {WRAPPING_KEY_SPECS.map((a) => (
            <option key={a}>{a}</option>
          ))}
        </select>
        <button type="button" onClick={() => void getParameters()}>
          Download wrapping public key and import token
        </button>
      </div>
      {validTo && <p>The import token and wrapping key expire at {formatDate(validTo)}.</p>}
      <h3>Step 2: upload the wrapped key material</h3>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          void importMaterial()
        }}
      >
        <label htmlFor="wrapped-material">Wrapped key material (binary file)</label>
        <input
          id="wrapped-material"
          type="file"
          onChange={(e) => setMaterial(e.target.files?.[0])}
        />
        <label htmlFor="import-token-file">Import token (optional if downloaded in step 1)</label>
        <input
          id="import-token-file"
          type="file"
          onChange={(e) => setTokenFile(e.target.files?.[0])}
        />
        <fieldset>
          <legend>Expiration</legend>
          <label className="check">
            <input
              type="radio"
              name="expiration"
              checked={!expires}
              onChange={() => setExpires(false)}
            />
            Key material does not expire
          </label>
          <label className="check">
            <input
              type="radio"
              name="expiration"
              checked={expires}
              onChange={() => setExpires(true)}
            />
            Key material expires
          </label>
          {expires && (
            <>
              <label htmlFor="valid-to">Expires at (UTC)</label>
              <input
                id="valid-to"
                type="datetime-local"
                value={expiry}
                aria-describedby={expiryError ? 'valid-to-error' : undefined}
                onChange={(e) => setExpiry(e.target.value)}
              />
              <FieldError id="valid-to-error" message={expiryError} />
            </>
          )}
        </fieldset>
        <button type="submit" className="primary" disabled={!material || !!expiryError}>
          Import key material
        </button>
      </form>
      {props.metadata.KeyState !== 'PendingImport' && (
        <p>
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            Delete key material
          </button>
        </p>
      )}
      {notice && <p role="status">{notice}</p>}
      <ErrorBox error={error} />
      {confirmDelete && (
        <ConfirmDialog
          title="Delete key material"
          confirmLabel="Delete key material"
          onCancel={() => setConfirmDelete(false)}
          onConfirm={() => {
            setConfirmDelete(false)
            props.client.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId })).then(
              () => props.onChanged(),
              (e: unknown) => setError(errorText(e)),
            )
          }}
        >
          <p>
            The key becomes unusable (Pending import) until the same key material is imported again.
            Nothing encrypted under it can be decrypted until then.
          </p>
        </ConfirmDialog>
      )}
    </section>
  )
}
