/**
 * Ask before an irreversible action. `confirmed` is the question alone (false when the admin
 * cancels or closes the box); `removeConfirmed` is the whole "delete this row" step: ask,
 * delete, say "已删除" and refresh. A refused delete's message is shown by the http client.
 */
import { ElMessage, ElMessageBox } from 'element-plus'

export interface ConfirmOptions {
  /** The confirm button's text. */
  confirmText?: string
  type?: 'warning' | 'info'
}

export async function confirmed(message: string, title: string, options: ConfirmOptions = {}): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, {
      type: options.type ?? 'warning',
      confirmButtonText: options.confirmText ?? '确定',
      cancelButtonText: '取消',
    })
    return true
  } catch {
    return false
  }
}

export interface RemoveOptions extends ConfirmOptions {
  message: string
  title: string
  remove: () => Promise<unknown>
  /** After the delete (reload the list). */
  done?: () => void
}

/** Resolves to whether the row was deleted. */
export async function removeConfirmed(options: RemoveOptions): Promise<boolean> {
  if (!(await confirmed(options.message, options.title, { type: options.type, confirmText: options.confirmText ?? '删除' }))) return false
  try {
    await options.remove()
  } catch {
    return false // message shown by the http client
  }
  ElMessage.success('已删除')
  options.done?.()
  return true
}
