import { describe, expect, it } from 'vitest'
import type { TopUpOffer } from '@/api/types'
import {
  bestOffer,
  cashierAddress,
  entryTitle,
  formatLocalTime,
  formatSignedFen,
  offerGrant,
  parseUtc,
  parseYuan,
  payModeOf,
  refundFailText,
  refundNote,
  refundTagType,
} from '@/utils/wallet'

function offer(id: number, min: number, count: number, total: number, upper = false): TopUpOffer {
  return {
    offer_id: id, name: `活动${id}`, min_topup_fen: min, coupon_count: count,
    total_fen: total, total_is_upper_bound: upper, text: '', items: [],
  } // prettier-ignore
}

describe('parseYuan', () => {
  it('turns yuan typed by the driver into integer fen without floating point', () => {
    expect(parseYuan('50')).toBe(5000)
    expect(parseYuan('0.5')).toBe(50)
    expect(parseYuan('12.34')).toBe(1234)
    expect(parseYuan('1.005'.slice(0, 4))).toBe(100) // "1.00"
    expect(parseYuan('0.29')).toBe(29) // 0.29 * 100 = 28.999999999999996 in floats
    expect(parseYuan(' 8. ')).toBe(800)
  })
  it('refuses what is not an amount', () => {
    for (const bad of ['', '-1', '1.234', '1e3', 'abc', '.5', '1,000', '10000000000']) {
      expect(parseYuan(bad), bad).toBeNull()
    }
  })
})

describe('formatLocalTime', () => {
  it('shows a UTC time in Shanghai time, the day turning over', () => {
    expect(formatLocalTime('2026-12-04T19:28:21+00:00')).toBe('2026-12-05 03:28')
    expect(formatLocalTime('2026-12-04T19:28:21Z')).toBe('2026-12-05 03:28')
  })
  it('reads a time without an offset as UTC, not as the browser zone', () => {
    expect(parseUtc('2026-01-01T00:00:00').toISOString()).toBe('2026-01-01T00:00:00.000Z')
    expect(formatLocalTime('2026-01-01T00:00:00')).toBe('2026-01-01 08:00')
  })
  it('takes another zone and leaves nothing for no time', () => {
    expect(formatLocalTime('2026-07-01T12:00:00Z', 'Asia/Urumqi')).toBe('2026-07-01 18:00')
    expect(formatLocalTime(null)).toBe('')
    expect(formatLocalTime('not a time')).toBe('')
  })
})

describe('ledger lines', () => {
  it('signs the amount and names the reason', () => {
    expect(formatSignedFen(5000)).toBe('+¥50.00')
    expect(formatSignedFen(-1230)).toBe('-¥12.30')
    expect(formatSignedFen(0)).toBe('¥0.00')
    expect(entryTitle({ reason: 'topup' })).toBe('微信充值')
    expect(entryTitle({ reason: 'refund' })).toBe('余额退款')
    expect(entryTitle({ reason: 'something_new' })).toBe('余额变动')
  })
})

describe('top-up offers (case #5 2019-10-28)', () => {
  it('say how many coupons and how much they are worth', () => {
    expect(offerGrant(offer(1, 10000, 3, 5000))).toBe('赠 3 张优惠券，共 ¥50.00')
    expect(offerGrant(offer(2, 10000, 2, 1500, true))).toBe('赠 2 张优惠券，最高 ¥15.00')
    expect(offerGrant(offer(3, 10000, 0, 0))).toBe('不赠送优惠券')
  })
  it('apply the most generous offer the amount reaches', () => {
    const offers = [offer(1, 5000, 1, 500), offer(2, 10000, 3, 2000), offer(3, 20000, 5, 6000)]
    expect(bestOffer(offers, 4999)).toBeNull()
    expect(bestOffer(offers, 5000)?.offer_id).toBe(1)
    expect(bestOffer(offers, 15000)?.offer_id).toBe(2)
    expect(bestOffer(offers, 50000)?.offer_id).toBe(3)
    expect(bestOffer(offers, null)).toBeNull()
    expect(bestOffer([offer(4, 100, 1, 1000), offer(5, 100, 2, 1000)], 100)?.offer_id).toBe(5)
  })
})

describe('refund states', () => {
  it("put WeChat's failure reasons in Chinese", () => {
    expect(refundFailText('CLOSED: 退款关闭')).toBe('退款关闭')
    expect(refundFailText('NOT_ENOUGH: Not enough balance')).toBe('商户账户余额不足，请联系客服')
    expect(refundFailText('WEIRD_CODE: boom')).toBe('微信支付退款失败（WEIRD_CODE），请联系客服')
    expect(refundFailText('ABNORMAL: 退款异常（如用户银行卡已注销），请联系客服；SYSTEM_ERROR: system error')).toBe(
      '退款异常（如用户银行卡已注销），请联系客服；微信支付系统繁忙，请稍后重试',
    )
    expect(refundFailText('')).toBe('')
  })
  it('say what happens next or why it ended', () => {
    const base = { reject_reason: '', fail_reason: '', succeeded_fen: 0 }
    expect(refundNote({ ...base, state: 'pending_review' })).toContain('等待运营商审核')
    expect(refundNote({ ...base, state: 'rejected', reject_reason: '有未结订单' })).toBe('驳回原因：有未结订单')
    expect(refundNote({ ...base, state: 'failed', fail_reason: 'CLOSED: 退款关闭' })).toBe('失败原因：退款关闭')
    expect(refundNote({ ...base, state: 'succeeded', succeeded_fen: 4450 })).toBe('已原路退回微信 ¥44.50')
    expect(refundTagType('succeeded')).toBe('success')
    expect(refundTagType('failed')).toBe('danger')
    expect(refundTagType('pending_review')).toBe('warning')
  })
})

describe('how the browser pays', () => {
  it('uses WeChat inside WeChat, the sandbox cashier in demo mode, nothing elsewhere', () => {
    const ua = 'Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148'
    expect(payModeOf({ userAgent: `${ua} MicroMessenger/8.0.50`, hasBridge: false, cashierUrl: '/x' })).toBe('wechat')
    expect(payModeOf({ userAgent: ua, hasBridge: true, cashierUrl: null })).toBe('wechat')
    expect(payModeOf({ userAgent: ua, hasBridge: false, cashierUrl: '/sandbox/wechat/pay' })).toBe('sandbox')
    expect(payModeOf({ userAgent: ua, hasBridge: false, cashierUrl: null })).toBe('none')
  })
  it('sends the prepay to the sandbox cashier with the way back', () => {
    expect(cashierAddress('/sandbox/wechat/pay', 'prepay_id=wx123', '/h5/wallet?topup=T1')).toBe(
      '/sandbox/wechat/pay?prepay_id=wx123&redirect=%2Fh5%2Fwallet%3Ftopup%3DT1',
    )
  })
})
