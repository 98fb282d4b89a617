/** 会员价: a service-fee pay-rate shown and typed as 折 (七折 = 0.7), string arithmetic only. */
import { discountToRate } from './couponTemplate'

/** "0.7000" → "7 折", "0.85" → "8.5 折", "0" → "免服务费", "1" → "原价". */
export function rateText(rate: string | null | undefined): string {
  if (rate === null || rate === undefined) return '-'
  const m = /^\s*(\d)(?:\.(\d*))?\s*$/.exec(rate)
  if (!m) return rate
  if (m[1] === '1') return '原价'
  const digits = (m[2] ?? '').replace(/0+$/, '')
  if (digits === '') return '免服务费'
  const zhe = `${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}`
  return `${zhe} 折`
}

export interface DiscountDraft {
  groupCode: string
  stationId: number | null
  discount: string // 折
  reason: string
}

export function discountPayload(draft: DiscountDraft): {
  body: { group_code: string; rate: string; station_id: number | null; reason: string } | null
  errors: Partial<Record<keyof DiscountDraft, string>>
} {
  const errors: Partial<Record<keyof DiscountDraft, string>> = {}
  if (!draft.groupCode) errors.groupCode = '请选择会员分组'
  const rate = discountToRate(draft.discount)
  if (rate === null) errors.discount = '请填写 0–9.9 折，如 7 表示服务费七折，0 表示免服务费'
  if (draft.reason.trim().length > 200) errors.reason = '原因最多 200 个字'
  if (Object.keys(errors).length > 0 || rate === null) return { body: null, errors }
  return { body: { group_code: draft.groupCode, rate, station_id: draft.stationId, reason: draft.reason.trim() }, errors }
}
