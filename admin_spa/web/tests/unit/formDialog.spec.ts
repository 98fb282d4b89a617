import { beforeEach, describe, expect, it, vi } from 'vitest'

const { success, error, confirm } = vi.hoisted(() => ({ success: vi.fn(), error: vi.fn(), confirm: vi.fn() }))
vi.mock('element-plus', () => ({ ElMessage: { success, error }, ElMessageBox: { confirm } }))

import { ref } from 'vue'
import type { FormInstance } from 'element-plus'
import { ApiError } from '@/api/http'
import { confirmed, removeConfirmed } from '@/composables/useConfirm'
import { useFormDialog } from '@/composables/useFormDialog'

interface Row {
  id: number
  name: string
  tags: string[]
}

const fieldError = () => new ApiError(422, 'validation_error', '参数错误', { fields: { name: ['名称已存在'] } })

function dialog(submit = vi.fn().mockResolvedValue({ id: 9 }), onSaved = vi.fn()) {
  const d = useFormDialog<Row, { name: string; tags: string[]; note: string }, { id: number }>({
    empty: () => ({ name: '', tags: [], note: '默认' }),
    fromRow: (row) => ({ name: row.name, tags: [...row.tags] }),
    submit,
    onSaved,
  })
  return { d, submit, onSaved }
}

describe('useFormDialog', () => {
  beforeEach(() => {
    success.mockReset()
    error.mockReset()
    confirm.mockReset()
  })

  it('opens a new form empty and an edit form from the row, never keeping the last opening', () => {
    const { d } = dialog()
    d.openEdit({ id: 1, name: '甲', tags: ['a'] })
    expect([d.visible.value, d.editing.value?.id, d.form.name, d.form.tags, d.form.note]).toEqual([true, 1, '甲', ['a'], '默认'])
    d.form.note = '改过'
    d.form.tags.push('b')
    d.openCreate()
    expect([d.editing.value, d.form.name, d.form.tags, d.form.note]).toEqual([null, '', [], '默认'])
  })

  it('saves: submits the form with the row, says 已保存, closes, then tells the page', async () => {
    const { d, submit, onSaved } = dialog()
    const row = { id: 1, name: '甲', tags: [] }
    d.openEdit(row)
    d.form.name = '乙'
    expect(await d.save()).toBe(true)
    expect(submit).toHaveBeenCalledWith(expect.objectContaining({ name: '乙' }), row)
    expect(success).toHaveBeenCalledWith('已保存')
    expect(d.visible.value).toBe(false)
    expect(onSaved).toHaveBeenCalledWith({ id: 9 }, row)
    expect(d.saving.value).toBe(false)
  })

  it('keeps the dialog open with the server field errors when the save is refused, cleared on the next opening', async () => {
    const { d, onSaved } = dialog(vi.fn().mockRejectedValue(fieldError()))
    d.openCreate()
    expect(await d.save()).toBe(false)
    expect(d.visible.value).toBe(true)
    expect(d.server.errors.name).toBe('名称已存在')
    expect([success.mock.calls.length, onSaved.mock.calls.length, d.saving.value]).toEqual([0, 0, false])
    d.openCreate()
    expect(d.server.errors.name).toBeUndefined()
  })

  it('says a refusal that names no field in the server words, toasting it only for silent requests', async () => {
    const refused = () => Promise.reject(new ApiError(409, 'duplicate', '该时段已有客服电话'))
    const { d } = dialog(vi.fn(refused))
    d.openCreate()
    expect(await d.save()).toBe(false)
    expect([d.formError.value, d.visible.value, error.mock.calls.length]).toEqual(['该时段已有客服电话', true, 0])
    const silent = useFormDialog({ empty: () => ({}), submit: vi.fn(refused), toastErrors: true })
    silent.openCreate()
    await silent.save()
    expect(error).toHaveBeenCalledWith('该时段已有客服电话')
    silent.openCreate()
    expect(silent.formError.value).toBe('')
  })

  it('drives a dialog component through its v-model', async () => {
    const shown = ref(false)
    const d = useFormDialog({ visible: shown, empty: () => ({ name: '' }), submit: vi.fn().mockResolvedValue(1) })
    d.open(null)
    expect(shown.value).toBe(true)
    await d.save()
    expect(shown.value).toBe(false)
  })

  it('sends nothing when the form does not validate', async () => {
    const submit = vi.fn()
    const formRef = ref({ validate: () => Promise.reject(new Error('invalid')) } as unknown as FormInstance)
    const d = useFormDialog({ formRef, empty: () => ({ name: '' }), submit })
    d.openCreate()
    expect(await d.save()).toBe(false)
    expect(submit).not.toHaveBeenCalled()
    expect(d.visible.value).toBe(true)
  })

  it('sends one request for a double click on 保存', async () => {
    let finish: (v: { id: number }) => void = () => {}
    const submit = vi.fn(() => new Promise<{ id: number }>((resolve) => (finish = resolve)))
    const { d } = dialog(submit)
    d.openCreate()
    const first = d.save()
    expect(await d.save()).toBe(false)
    finish({ id: 3 })
    expect(await first).toBe(true)
    expect(submit).toHaveBeenCalledTimes(1)
  })
})

describe('confirm before an irreversible action', () => {
  beforeEach(() => {
    success.mockReset()
    confirm.mockReset()
  })

  it('confirmed is false when the admin cancels', async () => {
    confirm.mockRejectedValueOnce('cancel')
    expect(await confirmed('确定吗？', '标题')).toBe(false)
    confirm.mockResolvedValueOnce('confirm')
    expect(await confirmed('确定吗？', '标题', { confirmText: '发送' })).toBe(true)
    expect(confirm).toHaveBeenLastCalledWith('确定吗？', '标题', expect.objectContaining({ confirmButtonText: '发送', type: 'warning' }))
  })

  it('deletes only after the confirmation, then says 已删除 and refreshes', async () => {
    const remove = vi.fn().mockResolvedValue(undefined)
    const done = vi.fn()
    confirm.mockRejectedValueOnce('cancel')
    expect(await removeConfirmed({ message: '确定删除吗？', title: '删除', remove, done })).toBe(false)
    expect(remove).not.toHaveBeenCalled()
    confirm.mockResolvedValueOnce('confirm')
    expect(await removeConfirmed({ message: '确定删除吗？', title: '删除', remove, done })).toBe(true)
    expect(confirm).toHaveBeenLastCalledWith('确定删除吗？', '删除', expect.objectContaining({ confirmButtonText: '删除' }))
    expect([remove.mock.calls.length, done.mock.calls.length]).toEqual([1, 1])
    expect(success).toHaveBeenCalledWith('已删除')
  })

  it('a refused delete neither says 已删除 nor refreshes', async () => {
    const done = vi.fn()
    confirm.mockResolvedValueOnce('confirm')
    const remove = vi.fn().mockRejectedValue(new ApiError(409, 'in_use', '站点下还有充电桩'))
    expect(await removeConfirmed({ message: 'm', title: 't', remove, done })).toBe(false)
    expect([success.mock.calls.length, done.mock.calls.length]).toEqual([0, 0])
  })
})
