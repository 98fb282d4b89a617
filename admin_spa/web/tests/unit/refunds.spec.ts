import { describe, expect, it } from 'vitest'
import type { Refund } from '@/api/refunds'
import { canReview, merchantBlockers, refundPartState, refundState, refundTotals } from '@/pages/refunds/refund'

const refund: Refund = {
  id: 3,
  state: 'pending_review',
  amount_fen: 12_000,
  parts: [
    // case #4 2019-10-15: ¥5.50 of this top-up's coupons were spent, so they are kept back
    { id: 1, amount_fen: 10_000, coupon_deduction_fen: 550, refund_fen: 9_450, state: 'pending' },
    { id: 2, amount_fen: 2_000, coupon_deduction_fen: 0, refund_fen: 2_000, state: 'pending' },
  ],
  merchant_blockers: [],
}

describe('refund review helpers', () => {
  it('sums the parts: taken from the wallet, kept back for coupons, returned by WeChat', () => {
    expect(refundTotals(refund)).toEqual({ amountFen: 12_000, couponDeductionFen: 550, refundFen: 11_450 })
    expect(refundTotals(null)).toEqual({ amountFen: 0, couponDeductionFen: 0, refundFen: 0 })
    expect(refundTotals({ parts: [{ id: 9 }] })).toEqual({ amountFen: 0, couponDeductionFen: 0, refundFen: 0 })
  })

  it('reads the merchant blockers (a computed field) defensively (case #22)', () => {
    expect(merchantBlockers(refund)).toEqual([])
    expect(merchantBlockers({ merchant_blockers: [{ operator_id: 4, operator: '深圳快充' }, null, 'x'] })).toEqual([
      { operator_id: 4, operator: '深圳快充' },
    ])
    expect(merchantBlockers({ merchant_blockers: undefined })).toEqual([])
  })

  it('names states in Chinese and lets only a pending request be reviewed', () => {
    expect(refundState('pending_review')).toEqual({ label: '待审核', type: 'warning' })
    expect(refundState('failed').label).toBe('退款失败')
    expect(refundState('weird')).toEqual({ label: 'weird', type: 'info' })
    expect(refundPartState('succeeded').label).toBe('已退回')
    expect(canReview(refund)).toBe(true)
    expect(canReview({ state: 'rejected' })).toBe(false)
    expect(canReview(null)).toBe(false)
  })
})
