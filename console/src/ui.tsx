import { Dialog, DialogPanel, DialogTitle } from '@headlessui/react'
import type { ReactNode } from 'react'

/** A modal dialog (Headless UI: focus trapped, Escape closes, labelled by its title). */
export function Modal(props: {
  open: boolean
  title: string
  onClose: () => void
  children: ReactNode
}) {
  return (
    <Dialog open={props.open} onClose={props.onClose} className="modal">
      <div className="modal-backdrop" aria-hidden="true" />
      <div className="modal-frame">
        <DialogPanel className="modal-panel">
          <DialogTitle as="h2">{props.title}</DialogTitle>
          {props.children}
        </DialogPanel>
      </div>
    </Dialog>
  )
}

/**
 * A question before an action that cannot be taken back: Cancel, or the action (a danger
 * button). Either closes the dialog; the action then runs.
 */
export function ConfirmDialog(props: {
  title: string
  confirmLabel: string
  onCancel: () => void
  onConfirm: () => void
  children: ReactNode
}) {
  return (
    <Modal open title={props.title} onClose={props.onCancel}>
      {props.children}
      <div className="buttons">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </Modal>
  )
}

/** A refused call: AWS's exception name and message, announced to screen readers. */
export function ErrorBox(props: { error: string | undefined }) {
  if (!props.error) return null
  return (
    <div className="error" role="alert">
      {props.error}
    </div>
  )
}

/** A field's validation message, tied to its input by id (aria-describedby). */
export function FieldError(props: { id: string; message: string | undefined }) {
  return props.message ? (
    <p className="field-error" id={props.id}>
      {props.message}
    </p>
  ) : null
}

/** Offers `bytes` as a file download (object URL: nothing leaves the browser). */
export function download(name: string, bytes: Uint8Array | string, type: string): void {
  const blob = new Blob([bytes as BlobPart], { type })
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export function formatDate(date: Date | undefined): string {
  return date
    ? date
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')
    : ''
}
