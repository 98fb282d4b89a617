import { describe, expect, it } from 'vitest'
import type { CouponChoice, OrderCoupon } from '@/api/types'
import { choiceLabel, couponFace, ordered } from '@/utils/couponChoice'

const coupon = (over: Partial<OrderCoupon>): OrderCoupon => ({
  id: 1, name: '10元券', kind: 'fixed', amount_fen: 1000, threshold_fen: null, percent: null,
  cap_fen: null, valid_until: '2026-12-31 23:59:59', usable: true, refusal_code: null,
  refusal: null, ...over,
})

describe('couponFace', () => {
  it('says what each kind takes off', () => {
    expect(couponFace(coupon({}))).toBe('¥10.00')
    expect(couponFace(coupon({ kind: 'threshold', threshold_fen: 5000, amount_fen: 500 }))).toBe('满 ¥50.00 减 ¥5.00')
    expect(couponFace(coupon({ kind: 'percent', percent: '0.85', cap_fen: 2000 }))).toBe('8.5 折，最多 ¥20.00')
    expect(couponFace(coupon({ kind: 'percent', percent: '0.8' }))).toBe('8 折')
  })
})

describe('choiceLabel', () => {
  const ten = coupon({ id: 7 })
  const choice = (over: Partial<CouponChoice>): CouponChoice => ({
    choice: 'default', selected_coupon_id: 7, coupons: [ten], ...over,
  })
  it('names the best coupon picked by default, a chosen one, none, or that there is none', () => {
    expect(choiceLabel(choice({}))).toBe('10元券 ¥10.00（自动选择最优）')
    expect(choiceLabel(choice({ choice: 'chosen' }))).toBe('10元券 ¥10.00')
    expect(choiceLabel(choice({ choice: 'none', selected_coupon_id: null }))).toBe('不使用优惠券')
    expect(choiceLabel(choice({ selected_coupon_id: null, coupons: [] }))).toBe('暂无可用优惠券')
    const nothingYet = coupon({ id: 7, usable: false, refusal: '本单无可抵扣金额' })
    expect(choiceLabel(choice({ selected_coupon_id: null, coupons: [nothingYet] }))).toBe('结算时自动选择最优')
  })
})

describe('ordered', () => {
  it('lists the usable coupons before those this order cannot use', () => {
    const refused = coupon({ id: 2, usable: false, refusal: '未达到使用门槛' })
    expect(ordered([refused, coupon({ id: 3 })]).map((c) => c.id)).toEqual([3, 2])
  })
})
