import { describe, expect, it } from 'vitest'
import { couponPayload, discountToRate, emptyCouponDraft, exclusiveEndOfDay, type CouponDraft } from '@/utils/couponTemplate'

const draft = (over: Partial<CouponDraft>): CouponDraft => ({ ...emptyCouponDraft(), name: '券', ...over })

describe('新建优惠券 form → body', () => {
  it('sends a fixed end date as the next local midnight, so the list reads 23:59:59 of that day (case #10)', () => {
    expect(exclusiveEndOfDay('2019-11-13', 'Asia/Shanghai')).toBe('2019-11-14T00:00:00+08:00')
    expect(exclusiveEndOfDay('2019-12-31', 'Asia/Shanghai')).toBe('2020-01-01T00:00:00+08:00')
    expect(exclusiveEndOfDay('2024-02-28', 'Asia/Shanghai')).toBe('2024-02-29T00:00:00+08:00')
    expect(exclusiveEndOfDay('2024-03-09', 'America/New_York')).toBe('2024-03-10T00:00:00-05:00')
    expect(exclusiveEndOfDay('2024-03-10', 'America/New_York')).toBe('2024-03-11T00:00:00-04:00')
    expect(exclusiveEndOfDay('2019-02-30', 'Asia/Shanghai')).toBeNull()
    const { body } = couponPayload(draft({ kind: 'threshold', amount: '5', threshold: '30', validityMode: 'until', untilDate: '2019-11-13' }))
    expect(body).toEqual({
      name: '券', kind: 'threshold', amount_fen: 500, threshold_fen: 3000,
      valid_until: '2019-11-14T00:00:00+08:00', timezone: 'Asia/Shanghai',
    })
  })

  it('converts yuan to integer fen without float rounding', () => {
    const { body } = couponPayload(draft({ amount: '0.29', validityCount: '7' }))
    expect(body).toMatchObject({ kind: 'fixed', amount_fen: 29, threshold_fen: 0, validity_days: 7 })
    expect(couponPayload(draft({ amount: '1.005', validityCount: '7' })).errors.amount).toContain('两位小数')
  })

  it('sends a discount as a pay-rate (八五折 = 0.85) with an optional cap, and N months from the grant', () => {
    expect(discountToRate('8')).toBe('0.8')
    expect(discountToRate('8.5')).toBe('0.85')
    expect(discountToRate('0')).toBe('0')
    expect(discountToRate('10')).toBeNull()
    const { body } = couponPayload(draft({ kind: 'percent', discount: '8.5', cap: '20', validityMode: 'months', validityCount: '3', perDriverLimit: '2' }))
    expect(body).toEqual({
      name: '券', kind: 'percent', amount_fen: 0, threshold_fen: 0, percent: '0.85', cap_fen: 2000,
      validity_months: 3, per_driver_limit: 2, timezone: 'Asia/Shanghai',
    })
    expect(couponPayload(draft({ kind: 'percent', discount: '0', validityCount: '1' })).errors.discount).toBeTruthy()
  })

  it('takes an amount or a service-fee discount (0 折 = 免服务费) for 仅抵服务费, not both', () => {
    expect(couponPayload(draft({ kind: 'service_only', discount: '0', validityCount: '1' })).body).toMatchObject({ percent: '0', amount_fen: 0 })
    expect(couponPayload(draft({ kind: 'service_only', amount: '3', validityCount: '1' })).body).toMatchObject({ amount_fen: 300 })
    expect(couponPayload(draft({ kind: 'service_only', amount: '3', discount: '5', validityCount: '1' })).errors.amount).toContain('填一项')
  })

  it('says in Chinese what is missing and sends nothing then', () => {
    const { body, errors } = couponPayload(draft({ name: ' ', kind: 'threshold', amount: '50', threshold: '30', validityCount: '0', perDriverLimit: 'x' }))
    expect(body).toBeNull()
    expect(errors).toEqual({
      name: '请填写名称', amount: '减免金额不能高于门槛', validityCount: '请填写天数（正整数）',
      perDriverLimit: '每人限领须为正整数，留空不限',
    })
    expect(couponPayload(draft({ validityMode: 'until', amount: '1' })).errors.untilDate).toBe('请选择截止日期')
  })
})
