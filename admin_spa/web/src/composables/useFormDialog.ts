/**
 * A create/edit form in a dialog: which row is being edited (null: a new one), the form's
 * values reset from `empty()` (and the row) on every opening, the 422 field errors from the
 * server beside their fields, and a save that validates first, shows "已保存", closes and
 * tells the page. A failed save keeps the dialog open with the server's message.
 *
 * Returns plain refs, to destructure in `<script setup>` so the template binds them by name
 * (`v-model="visible"`, `form.name`, `server.errors.name`). The page declares the form's
 * template ref itself (`const formRef = ref<FormInstance>()`, `<el-form ref="formRef">`) and
 * passes it in, so the dialog validates before it sends.
 */
import { reactive, ref, shallowRef, type Ref, type ShallowRef } from 'vue'
import { ElMessage, type FormInstance } from 'element-plus'
import { ApiError } from '@/api/http'
import { useServerErrors } from './useServerErrors'

export interface FormDialogOptions<T, F extends object, R> {
  /** Whether the dialog shows; a dialog component passes its v-model (a computed over
   * `modelValue` and `update:modelValue`) and calls `open(props.row)` from the dialog's @open. */
  visible?: Ref<boolean>
  /** The `<el-form>`'s template ref, validated before a save. */
  formRef?: Ref<FormInstance | undefined>
  /** The values of a new row's form (called on every opening, so nothing leaks between them). */
  empty: () => F
  /** The form's values for editing a row, laid over `empty()`. */
  fromRow?: (row: T) => Partial<F>
  /** Also on every opening, after the form is reset (state the page keeps beside the form). */
  onOpen?: (row: T | null) => void
  /** Send the form; `editing` is the row being edited, null for a new one. */
  submit: (form: F, editing: T | null) => Promise<R>
  /** After a successful save and the dialog closed (reload the list, …). */
  onSaved?: (result: R, editing: T | null) => void
  /** The success toast; '' for none. */
  savedMessage?: string
  /** Toast a refusal without field errors here (for requests sent `silent`). */
  toastErrors?: boolean
}

export interface FormDialog<T, F extends object, R> {
  visible: Ref<boolean>
  editing: ShallowRef<T | null>
  saving: Ref<boolean>
  form: F
  formRef: Ref<FormInstance | undefined>
  server: ReturnType<typeof useServerErrors>
  /** A refusal that names no field, in the server's words (for an alert in the dialog). */
  formError: Ref<string>
  openCreate: () => void
  openEdit: (row: T) => void
  /** Open for a row (edit) or null (new). */
  open: (row: T | null) => void
  close: () => void
  /** Validate, submit, and close; resolves to whether it was saved. */
  save: () => Promise<boolean>
  /** The last save's result (for a page that shows what the server answered). */
  lastResult: ShallowRef<R | undefined>
}

export function useFormDialog<T, F extends object, R = unknown>(options: FormDialogOptions<T, F, R>): FormDialog<T, F, R> {
  const visible = options.visible ?? ref(false)
  const editing = shallowRef<T | null>(null) as ShallowRef<T | null>
  const saving = ref(false)
  const formRef = options.formRef ?? ref<FormInstance>()
  const form = reactive(options.empty()) as F
  const server = useServerErrors()
  const lastResult = shallowRef<R>()
  const formError = ref('')

  function open(row: T | null): void {
    editing.value = row
    server.clear()
    formError.value = ''
    Object.assign(form, options.empty(), row !== null && options.fromRow ? options.fromRow(row) : {})
    options.onOpen?.(row)
    visible.value = true
  }

  async function save(): Promise<boolean> {
    if (saving.value) return false
    if (formRef.value && !(await formRef.value.validate().catch(() => false))) return false
    const row = editing.value
    saving.value = true
    formError.value = ''
    try {
      const result = await options.submit(form, row)
      lastResult.value = result
      const message = options.savedMessage ?? '已保存'
      if (message) ElMessage.success(message)
      visible.value = false
      options.onSaved?.(result, row)
      return true
    } catch (err) {
      // Field errors go beside their fields; any other refusal is said once, in its own words.
      if (!server.take(err)) {
        formError.value = err instanceof ApiError && err.message ? err.message : '保存失败'
        if (options.toastErrors) ElMessage.error(formError.value)
      }
      return false
    } finally {
      saving.value = false
    }
  }

  return {
    visible,
    editing,
    saving,
    form,
    formRef,
    server,
    formError,
    openCreate: () => open(null),
    openEdit: (row: T) => open(row),
    open,
    close: () => {
      visible.value = false
    },
    save,
    lastResult,
  }
}
