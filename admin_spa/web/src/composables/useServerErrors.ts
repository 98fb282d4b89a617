/**
 * Field errors from a 422 reply, keyed by field name, for `<el-form-item :error="...">`.
 */
import { reactive } from 'vue'
import { ApiError } from '@/api/http'

export function useServerErrors() {
  const errors = reactive<Record<string, string>>({})

  function clear(): void {
    for (const key of Object.keys(errors)) delete errors[key]
  }

  /** Take a thrown error; returns true if it carried field errors. */
  function take(err: unknown): boolean {
    clear()
    if (!(err instanceof ApiError) || err.status !== 422) return false
    const fields = err.fieldErrors()
    Object.assign(errors, fields)
    return Object.keys(fields).length > 0
  }

  return { errors, clear, take }
}
