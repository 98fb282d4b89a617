/** 新建充值活动: the dialog's fields → the POST /topup-offers body (min top-up in integer fen). */
import { yuanToFen } from './format'

export interface OfferRowDraft {
  templateId: number | null
  quantity: string
}

export interface OfferDraft {
  name: string
  minTopup: string // 元
  rows: OfferRowDraft[]
}

export interface OfferBody {
  name: string
  min_topup_fen: number
  items: { template_id: number; quantity: number }[]
}

export interface OfferErrors {
  name?: string
  minTopup?: string
  rows?: string
}

export const MAX_OFFER_QUANTITY = 100

export function emptyOfferDraft(): OfferDraft {
  return { name: '', minTopup: '', rows: [{ templateId: null, quantity: '1' }] }
}

export function offerPayload(draft: OfferDraft): { body: OfferBody | null; errors: OfferErrors } {
  const errors: OfferErrors = {}
  const name = draft.name.trim()
  if (name.length > 100) errors.name = '名称最多 100 个字'
  const fen = yuanToFen(draft.minTopup)
  if (fen === null || fen <= 0) errors.minTopup = '请填写大于 0 的充值门槛（元，最多两位小数）'
  const items: OfferBody['items'] = []
  const seen = new Set<number>()
  for (const [i, row] of draft.rows.entries()) {
    const quantity = /^\s*\d{1,3}\s*$/.test(row.quantity) ? Number(row.quantity) : NaN
    if (row.templateId === null) {
      errors.rows = `第 ${i + 1} 行：请选择优惠券`
    } else if (seen.has(row.templateId)) {
      errors.rows = `第 ${i + 1} 行：同一种优惠券请合并为一行`
    } else if (!(quantity >= 1 && quantity <= MAX_OFFER_QUANTITY)) {
      errors.rows = `第 ${i + 1} 行：数量须为 1–${MAX_OFFER_QUANTITY} 的整数`
    } else {
      seen.add(row.templateId)
      items.push({ template_id: row.templateId, quantity })
      continue
    }
    break
  }
  if (draft.rows.length === 0) errors.rows = '请至少添加一种优惠券'
  if (Object.keys(errors).length > 0 || fen === null) return { body: null, errors }
  return { body: { name, min_topup_fen: fen, items }, errors }
}
