import {
  CancelKeyDeletionCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { useEffect, useId, useRef, useState, type ReactNode } from 'react'
import { ConfirmDialog, ErrorBox, FieldError, Modal } from './ui.tsx'
import { errorText } from './session.ts'

/** ScheduleKeyDeletion's PendingWindowInDays: 7 to 30, 30 when omitted (API Reference). */
export const MIN_WAITING_DAYS = 7
export const MAX_WAITING_DAYS = 30

export function waitingPeriodError(text: string): string | undefined {
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || n < MIN_WAITING_DAYS || n > MAX_WAITING_DAYS)
    return `The waiting period must be a whole number of days from ${MIN_WAITING_DAYS} to ${MAX_WAITING_DAYS}.`
  return undefined
}

/** The confirmation dialog of ScheduleKeyDeletion. */
export function ScheduleDeletionDialog(props: {
  client: KMSClient
  keyId: string
  label: string
  onClose: (changed: boolean) => void
}) {
  const [days, setDays] = useState('30')
  const [confirmed, setConfirmed] = useState(false)
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const invalid = waitingPeriodError(days)
  const submit = async () => {
    if (invalid || !confirmed) return
    setBusy(true)
    setError(undefined)
    try {
      await props.client.send(
        new ScheduleKeyDeletionCommand({ KeyId: props.keyId, PendingWindowInDays: Number(days) }),
      )
      props.onClose(true)
    } catch (e) {
      setError(errorText(e))
    } finally {
      setBusy(false)
    }
  }
  return (
    <Modal open title="Schedule key deletion" onClose={() => props.onClose(false)}>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          void submit()
        }}
      >
        <p>
          Key <strong>{props.label}</strong> is disabled at once and deleted when the waiting period
          ends. Until then you can cancel the deletion. After it, the key and its key material are
          gone for good, and nothing encrypted under it can be decrypted again.
        </p>
        <label htmlFor="waiting-days">Waiting period (days, 7–30)</label>
        <input
          id="waiting-days"
          type="number"
          min={MIN_WAITING_DAYS}
          max={MAX_WAITING_DAYS}
          value={days}
          aria-invalid={invalid ? true : undefined}
          aria-describedby={invalid ? 'waiting-days-error' : undefined}
          onChange={(e) => setDays(e.target.value)}
        />
        <FieldError id="waiting-days-error" message={invalid} />
        <label className="check">
          <input
            type="checkbox"
            checked={confirmed}
            onChange={(e) => setConfirmed(e.target.checked)}
          />
          Confirm that you want to schedule this key for deletion after a {days}-day waiting period.
        </label>
        <ErrorBox error={error} />
        <div className="buttons">
          <button type="button" onClick={() => props.onClose(false)}>
            Cancel
          </button>
          <button type="submit" className="danger" disabled={busy || !!invalid || !confirmed}>
            Schedule deletion
          </button>
        </div>
      </form>
    </Modal>
  )
}

/**
 * "More ▾": a disclosure button (WAI-ARIA Authoring Practices, Disclosure pattern) that shows
 * its actions right after itself, so Tab reaches them in order. Escape or a click elsewhere
 * closes it. A menu widget per row (floating, with roving focus) cost the Keys page a third of
 * its render time for 25 rows, for no gain in what can be done.
 */
function MoreMenu(props: { label: string; children: ReactNode }) {
  const [open, setOpen] = useState(false)
  const id = useId()
  const box = useRef<HTMLDivElement>(null)
  const button = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    if (!open) return
    const onPointer = (e: MouseEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false)
    }
    document.addEventListener('mousedown', onPointer)
    return () => document.removeEventListener('mousedown', onPointer)
  }, [open])
  return (
    <div
      className="more"
      ref={box}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open) {
          setOpen(false)
          button.current?.focus()
        }
      }}
    >
      <button
        type="button"
        ref={button}
        aria-expanded={open}
        aria-controls={id}
        aria-label={`More actions for ${props.label}`}
        onClick={() => setOpen(!open)}
      >
        More ▾
      </button>
      {open && (
        <div id={id} className="menu" onClick={() => setOpen(false)}>
          {props.children}
        </div>
      )}
    </div>
  )
}

/**
 * The Actions of a key: Enable or Disable, and under More, Schedule or Cancel key deletion.
 * `onChanged` reloads what shows the key; a refused call shows AWS's message in `onError`.
 */
export function KeyActions(props: {
  client: KMSClient
  metadata: KeyMetadata
  label: string
  onChanged: () => void
  onError: (message: string | undefined) => void
}) {
  const [scheduling, setScheduling] = useState(false)
  const [disabling, setDisabling] = useState(false)
  const m = props.metadata
  const keyId = m.KeyId ?? ''
  const run = async (command: () => Promise<unknown>) => {
    props.onError(undefined)
    try {
      await command()
      props.onChanged()
    } catch (e) {
      props.onError(errorText(e))
    }
  }
  const pending = m.KeyState === 'PendingDeletion'
  return (
    <div className="actions">
      {/* Disable only an Enabled key, Enable only a Disabled one (the walkthrough, §8). */}
      {m.KeyState === 'Enabled' && (
        <button
          type="button"
          aria-label={`Disable ${props.label}`}
          onClick={() => setDisabling(true)}
        >
          Disable
        </button>
      )}
      {m.KeyState === 'Disabled' && (
        <button
          type="button"
          aria-label={`Enable ${props.label}`}
          onClick={() => void run(() => props.client.send(new EnableKeyCommand({ KeyId: keyId })))}
        >
          Enable
        </button>
      )}
      <MoreMenu label={props.label}>
        {pending ? (
          <button
            type="button"
            onClick={() =>
              void run(() => props.client.send(new CancelKeyDeletionCommand({ KeyId: keyId })))
            }
          >
            Cancel key deletion
          </button>
        ) : (
          <button type="button" onClick={() => setScheduling(true)}>
            Schedule key deletion
          </button>
        )}
      </MoreMenu>
      {disabling && (
        <ConfirmDialog
          title="Disable key"
          confirmLabel="Disable key"
          onCancel={() => setDisabling(false)}
          onConfirm={() => {
            setDisabling(false)
            void run(() => props.client.send(new DisableKeyCommand({ KeyId: keyId })))
          }}
        >
          <p>
            While <strong>{props.label}</strong> is disabled it cannot be used to encrypt, decrypt
            or sign. Enable it again at any time.
          </p>
        </ConfirmDialog>
      )}
      {scheduling && (
        <ScheduleDeletionDialog
          client={props.client}
          keyId={keyId}
          label={props.label}
          onClose={(changed) => {
            setScheduling(false)
            if (changed) props.onChanged()
          }}
        />
      )}
    </div>
  )
}
