/** 占位费 (case #19): the station's rule as the operator types it and as drivers read it. */
import { fenToYuan, yuanToFen } from './format'
import { isValidPrice } from './tariff'

export interface OccupancyDraft {
  grace: string
  price: string
  cap: string
  reason: string
}

export interface OccupancyPayload {
  grace_minutes: number
  price_per_minute: string
  cap_fen: number | null
  reason: string
}

export type OccupancyErrors = Partial<Record<keyof OccupancyDraft, string>>

const MAX_GRACE = 24 * 60

/** The typed rule → the API's body, or the Chinese message per field. A blank cap means no cap. */
export function occupancyPayload(d: OccupancyDraft): { payload: OccupancyPayload | null; errors: OccupancyErrors } {
  const errors: OccupancyErrors = {}
  const grace = d.grace.trim()
  if (!/^\d{1,4}$/.test(grace) || Number(grace) > MAX_GRACE) errors.grace = `免费时长为 0 到 ${MAX_GRACE} 的整数分钟`
  if (!isValidPrice(d.price) || Number(d.price) <= 0) errors.price = '每分钟单价为大于 0 的金额，最多 4 位小数（元）'
  let cap: number | null = null
  if (d.cap.trim() !== '') {
    cap = yuanToFen(d.cap)
    if (cap === null || cap <= 0) errors.cap = '封顶金额为大于 0 的金额，最多 2 位小数（元）；不封顶请留空'
  }
  if (d.reason.trim() === '') errors.reason = '请填写修改原因（记入审计日志）'
  if (Object.keys(errors).length) return { payload: null, errors }
  return {
    payload: { grace_minutes: Number(grace), price_per_minute: d.price.trim(), cap_fen: cap, reason: d.reason.trim() },
    errors,
  }
}

/** The rule in the words a driver reads on the station page. */
export function occupancyText(p: { is_active?: boolean; grace_minutes?: number; price_per_minute?: string; cap_fen?: number | null }): string {
  if (!p.is_active) return '不收占位费'
  const cap = p.cap_fen === null || p.cap_fen === undefined ? '不封顶' : `单笔封顶 ¥${fenToYuan(p.cap_fen)}`
  return `充电结束后免费 ${p.grace_minutes ?? 0} 分钟，之后每分钟 ¥${p.price_per_minute ?? '0'}，${cap}`
}

/** The form for a station's current rule (empty when it has none). */
export function occupancyDraft(p: { is_active?: boolean; grace_minutes?: number; price_per_minute?: string; cap_fen?: number | null }): OccupancyDraft {
  if (!p.is_active) return { grace: '15', price: '', cap: '', reason: '' }
  return {
    grace: String(p.grace_minutes ?? 0),
    price: p.price_per_minute ?? '',
    cap: p.cap_fen === null || p.cap_fen === undefined ? '' : fenToYuan(p.cap_fen),
    reason: '',
  }
}
