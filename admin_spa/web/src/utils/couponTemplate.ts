/**
 * 新建优惠券: the dialog's text fields → the POST /coupon-templates body (money in integer fen,
 * a fixed end date sent as the exclusive end = the next local midnight, case #10), with Chinese
 * messages per field. Pure, so the conversion is unit-tested.
 */
import { yuanToFen } from './format'

export type CouponKind = 'fixed' | 'threshold' | 'percent' | 'service_only'
export type ValidityMode = 'until' | 'days' | 'months'

export const COUPON_KIND_LABEL: Record<string, string> = {
  fixed: '固定金额',
  threshold: '满减',
  percent: '折扣（封顶）',
  service_only: '仅抵服务费',
}

export interface CouponDraft {
  name: string
  kind: CouponKind
  amount: string // 元
  threshold: string // 元
  discount: string // 折：8 = 八折, 8.5 = 八五折
  cap: string // 元，留空不封顶
  validityMode: ValidityMode
  untilDate: string // YYYY-MM-DD, last valid local day
  validityCount: string // N days / N months
  perDriverLimit: string // 留空不限
  timezone: string
}

export interface CouponBody {
  name: string
  kind: CouponKind
  amount_fen: number
  threshold_fen: number
  percent?: string
  cap_fen?: number
  valid_until?: string
  validity_days?: number
  validity_months?: number
  per_driver_limit?: number
  timezone: string
}

export type CouponErrors = Partial<Record<keyof CouponDraft, string>>

export function emptyCouponDraft(): CouponDraft {
  return {
    name: '', kind: 'fixed', amount: '', threshold: '', discount: '', cap: '',
    validityMode: 'days', untilDate: '', validityCount: '', perDriverLimit: '', timezone: 'Asia/Shanghai',
  }
}

/** "8" → "0.8", "8.5" → "0.85", "0" → "0" (pay-rate, 八折 = 0.8); null if not 0–9.9 折. */
export function discountToRate(text: string): string | null {
  const m = /^\s*(\d)(?:\.(\d))?\s*$/.exec(text)
  if (!m) return null
  const digits = `${m[1]}${m[2] ?? ''}`.replace(/0+$/, '')
  return digits === '' ? '0' : `0.${digits}`
}

const pad = (n: number) => String(n).padStart(2, '0')

/** Offset (ms) of `timeZone` from UTC at the instant `utcMs`. */
function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(utcMs))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'))
  return asUtc - utcMs
}

/**
 * The exclusive end of a window whose last valid day is `date` (YYYY-MM-DD) in `timeZone`:
 * the next local midnight as an aware ISO string, e.g. 2019-11-13 → 2019-11-14T00:00:00+08:00
 * (the list then reads 至 2019-11-13 23:59:59). null if `date` is not a real date.
 */
export function exclusiveEndOfDay(date: string, timeZone: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!m) return null
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  if (day.getUTCFullYear() !== Number(m[1]) || day.getUTCMonth() !== Number(m[2]) - 1 || day.getUTCDate() !== Number(m[3])) return null
  const next = new Date(day.getTime() + 86_400_000)
  const localMidnightAsUtc = next.getTime()
  let offset = zoneOffsetMs(localMidnightAsUtc, timeZone)
  offset = zoneOffsetMs(localMidnightAsUtc - offset, timeZone)
  const sign = offset < 0 ? '-' : '+'
  const minutes = Math.abs(Math.round(offset / 60_000))
  return `${next.getUTCFullYear()}-${pad(next.getUTCMonth() + 1)}-${pad(next.getUTCDate())}T00:00:00${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
}

function positiveInt(text: string): number | null {
  const m = /^\s*(\d{1,6})\s*$/.exec(text)
  if (!m) return null
  const n = Number(m[1])
  return n >= 1 ? n : null
}

function positiveFen(text: string): number | null {
  const fen = yuanToFen(text)
  return fen !== null && fen > 0 ? fen : null
}

export function couponPayload(draft: CouponDraft): { body: CouponBody | null; errors: CouponErrors } {
  const errors: CouponErrors = {}
  const name = draft.name.trim()
  if (!name) errors.name = '请填写名称'
  else if (name.length > 100) errors.name = '名称最多 100 个字'
  const body: CouponBody = { name, kind: draft.kind, amount_fen: 0, threshold_fen: 0, timezone: draft.timezone }
  const kind = draft.kind
  if (kind === 'fixed' || kind === 'threshold') {
    const amount = positiveFen(draft.amount)
    if (amount === null) errors.amount = '请填写大于 0 的金额（元，最多两位小数）'
    else body.amount_fen = amount
  }
  if (kind === 'threshold') {
    const threshold = positiveFen(draft.threshold)
    if (threshold === null) errors.threshold = '请填写大于 0 的门槛（元，最多两位小数）'
    else if (body.amount_fen > threshold) errors.amount = '减免金额不能高于门槛'
    else body.threshold_fen = threshold
  }
  if (kind === 'percent') {
    const rate = discountToRate(draft.discount)
    if (rate === null || rate === '0') errors.discount = '请填写 0.1–9.9 折，如 8 表示八折'
    else body.percent = rate
    if (draft.cap.trim() !== '') {
      const cap = positiveFen(draft.cap)
      if (cap === null) errors.cap = '封顶须为大于 0 的金额（元），留空不封顶'
      else body.cap_fen = cap
    }
  }
  if (kind === 'service_only') {
    const hasAmount = draft.amount.trim() !== ''
    const hasDiscount = draft.discount.trim() !== ''
    if (hasAmount === hasDiscount) {
      errors.amount = '抵扣金额与服务费折扣填一项（0 折即免服务费）'
    } else if (hasAmount) {
      const amount = positiveFen(draft.amount)
      if (amount === null) errors.amount = '请填写大于 0 的金额（元，最多两位小数）'
      else body.amount_fen = amount
    } else {
      const rate = discountToRate(draft.discount)
      if (rate === null) errors.discount = '请填写 0–9.9 折，0 表示免服务费'
      else body.percent = rate
    }
  }
  if (draft.validityMode === 'until') {
    const end = exclusiveEndOfDay(draft.untilDate, draft.timezone)
    if (end === null) errors.untilDate = '请选择截止日期'
    else body.valid_until = end
  } else {
    const n = positiveInt(draft.validityCount)
    if (n === null) errors.validityCount = draft.validityMode === 'days' ? '请填写天数（正整数）' : '请填写月数（正整数）'
    else if (draft.validityMode === 'days') body.validity_days = n
    else body.validity_months = n
  }
  if (draft.perDriverLimit.trim() !== '') {
    const limit = positiveInt(draft.perDriverLimit)
    if (limit === null) errors.perDriverLimit = '每人限领须为正整数，留空不限'
    else body.per_driver_limit = limit
  }
  return { body: Object.keys(errors).length === 0 ? body : null, errors }
}

/** Server field names (422 details) → the draft field the dialog shows them on. */
export const COUPON_SERVER_FIELD: Record<string, keyof CouponDraft> = {
  name: 'name', kind: 'kind', amount_fen: 'amount', threshold_fen: 'threshold', percent: 'discount',
  cap_fen: 'cap', valid_until: 'untilDate', validity_days: 'validityCount', validity_months: 'validityCount',
  per_driver_limit: 'perDriverLimit', timezone: 'untilDate',
}
