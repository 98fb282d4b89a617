import type { CouponChoice, OrderCoupon } from '@/api/types'
import { formatFen } from '@/utils/format'

/** What a coupon takes off, in a driver's words ("¥10.00", "满 ¥50.00 减 ¥5.00", "8.5 折，最多 ¥20.00"). */
export function couponFace(c: OrderCoupon): string {
  if (c.percent != null) {
    const off = (Number(c.percent) * 10).toFixed(1).replace(/\.0$/, '')
    return `${off} 折${c.cap_fen ? `，最多 ${formatFen(c.cap_fen)}` : ''}`
  }
  const amount = formatFen(c.amount_fen ?? 0)
  return c.threshold_fen ? `满 ${formatFen(c.threshold_fen)} 减 ${amount}` : amount
}

/** The line the order page shows for the current choice. */
export function choiceLabel(choice: CouponChoice): string {
  const selected = choice.coupons.find((c) => c.id === choice.selected_coupon_id)
  if (choice.choice === 'none') return '不使用优惠券'
  // none usable yet may only mean the bill is still 0: the best one is picked at settlement
  if (!selected) return choice.coupons.length ? '结算时自动选择最优' : '暂无可用优惠券'
  const auto = choice.choice === 'default' ? '（自动选择最优）' : ''
  return `${selected.name} ${couponFace(selected)}${auto}`
}

/** Usable coupons first (the API's order within each group kept). */
export function ordered(coupons: OrderCoupon[]): OrderCoupon[] {
  return [...coupons.filter((c) => c.usable), ...coupons.filter((c) => !c.usable)]
}
