// The wallet page's logic (issue 13): amounts typed in yuan → integer fen without floating
// point, ledger lines in words, what a top-up offer grants (case #5 2019-10-28), refund
// states and WeChat's failure reasons in Chinese, and how this browser can pay.

import type { Refund, TopUpOffer, WalletEntry } from '@/api/types'
import { formatFen } from './format'

/** "50" → 5000, "0.5" → 50, "12.34" → 1234; null for anything else (3 decimals, "1e3", -1). */
export function parseYuan(text: string): number | null {
  const m = /^\s*(\d{1,9})(?:\.(\d{0,2}))?\s*$/.exec(text)
  if (!m) return null
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'))
  return Number.isSafeInteger(fen) ? fen : null
}

/** the platform's times are UTC; a time without an offset is UTC too (marshmallow's naive). */
export function parseUtc(iso: string): Date {
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(iso)
  return new Date(hasZone ? iso : `${iso}Z`)
}

// the operators' zone: a wallet belongs to no station, and every demo operator is in China
export const WALLET_TIME_ZONE = 'Asia/Shanghai'

/** "2026-12-04T19:28:21+00:00" → "2026-12-05 03:28" (in timeZone). */
export function formatLocalTime(iso: string | null | undefined, timeZone = WALLET_TIME_ZONE): string {
  if (!iso) return ''
  const d = parseUtc(iso)
  if (Number.isNaN(d.getTime())) return ''
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(d)
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? ''
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`
}

/** "+¥50.00" / "-¥12.30": the sign always shown on a ledger line */
export function formatSignedFen(fen: number): string {
  return fen > 0 ? `+${formatFen(fen)}` : formatFen(fen)
}

// app/ledger/wallet.py post_entry reasons (topups, refunds, billing, hlht, admin adjust)
export const ENTRY_REASON_LABELS: Record<string, string> = {
  topup: '微信充值',
  charge: '充电消费',
  occupancy_fee: '占位费',
  resettle: '订单重新结算',
  correction: '订单更正',
  arrears: '补缴欠款',
  refund: '余额退款',
  refund_reversal: '退款失败退回',
  manual_credit: '人工调增',
  manual_debit: '人工调减',
}

export function entryTitle(entry: Pick<WalletEntry, 'reason'>): string {
  return ENTRY_REASON_LABELS[entry.reason] ?? '余额变动'
}

/** what an offer grants: "赠 3 张优惠券，共 ¥50.00" ("最高" with a discount coupon). */
export function offerGrant(offer: Pick<TopUpOffer, 'coupon_count' | 'total_fen' | 'total_is_upper_bound'>): string {
  if (offer.coupon_count <= 0) return '不赠送优惠券'
  const total = `${offer.total_is_upper_bound ? '最高' : '共'} ${formatFen(offer.total_fen)}`
  return `赠 ${offer.coupon_count} 张优惠券，${total}`
}

/** the offer a top-up of amountFen reaches that grants the most (null: none reached). */
export function bestOffer(offers: TopUpOffer[], amountFen: number | null): TopUpOffer | null {
  if (amountFen == null) return null
  let best: TopUpOffer | null = null
  for (const o of offers) {
    if (o.min_topup_fen > amountFen) continue
    if (
      !best ||
      o.total_fen > best.total_fen ||
      (o.total_fen === best.total_fen && o.coupon_count > best.coupon_count)
    ) {
      best = o
    }
  }
  return best
}

export const REFUND_STATE_LABELS: Record<string, string> = {
  pending_review: '待审核',
  approved: '已通过',
  processing: '退款中',
  succeeded: '已退款',
  failed: '退款失败',
  rejected: '已驳回',
}

export type TagType = 'primary' | 'success' | 'danger' | 'warning' | 'default'

export function refundTagType(state: string): TagType {
  if (state === 'succeeded') return 'success'
  if (state === 'failed' || state === 'rejected') return 'danger'
  if (state === 'pending_review') return 'warning'
  return 'primary'
}

// WeChat Pay's refund error codes (v3 /refund/domestic/refunds) in the driver's words
export const WECHAT_REFUND_ERRORS: Record<string, string> = {
  CLOSED: '退款关闭',
  ABNORMAL: '退款异常（如用户银行卡已注销），请联系客服',
  NOT_ENOUGH: '商户账户余额不足，请联系客服',
  USER_ACCOUNT_ABNORMAL: '微信账户异常或已注销，请联系客服',
  FREQUENCY_LIMITED: '退款请求过于频繁，请稍后重试',
  SYSTEM_ERROR: '微信支付系统繁忙，请稍后重试',
  PARAM_ERROR: '退款参数错误，请联系客服',
  INVALID_REQUEST: '该笔支付暂不能退款，请联系客服',
  RESOURCE_NOT_EXISTS: '原支付订单不存在，请联系客服',
  NO_AUTH: '商户无退款权限，请联系客服',
  MCH_NOT_EXISTS: '商户号不存在，请联系客服',
  SIGN_ERROR: '签名错误，请联系客服',
}

const HAS_CHINESE = /[\u4e00-\u9fff]/

/** the refund's fail_reason ("CODE: message" per part, joined by "；") in Chinese. */
export function refundFailText(reason: string | null | undefined): string {
  if (!reason) return ''
  return reason
    .split('；')
    .map((one) => {
      const m = /^([A-Z][A-Z0-9_]*):\s*(.*)$/s.exec(one.trim())
      if (!m) return one.trim()
      const [, code, message] = m
      if (message && HAS_CHINESE.test(message)) return message
      return WECHAT_REFUND_ERRORS[code] ?? `微信支付退款失败（${code}），请联系客服`
    })
    .filter(Boolean)
    .join('；')
}

/** what the driver reads under a refund request in the list */
export function refundNote(r: Pick<Refund, 'state' | 'reject_reason' | 'fail_reason' | 'succeeded_fen'>): string {
  if (r.state === 'rejected') return r.reject_reason ? `驳回原因：${r.reject_reason}` : ''
  if (r.state === 'failed') return `失败原因：${refundFailText(r.fail_reason)}`
  if (r.state === 'succeeded') return `已原路退回微信 ${formatFen(r.succeeded_fen)}`
  if (r.state === 'pending_review') return '等待运营商审核，审核通过后原路退回微信'
  return ''
}

/** how this browser pays: WeChat's own JSAPI, the demo sandbox's cashier page, or not at all */
export type PayMode = 'wechat' | 'sandbox' | 'none'

export function payModeOf(env: { userAgent: string; hasBridge: boolean; cashierUrl: string | null }): PayMode {
  if (env.hasBridge || /MicroMessenger/i.test(env.userAgent)) return 'wechat'
  if (env.cashierUrl) return 'sandbox'
  return 'none'
}

/** the sandbox cashier for a prepay (package "prepay_id=…"), coming back to `back` */
export function cashierAddress(cashierUrl: string, pkg: string, back: string): string {
  const prepay = pkg.startsWith('prepay_id=') ? pkg.slice('prepay_id='.length) : pkg
  const qs = new URLSearchParams({ prepay_id: prepay, redirect: back })
  return `${cashierUrl}${cashierUrl.includes('?') ? '&' : '?'}${qs.toString()}`
}
