import { describe, expect, it } from 'vitest'
import { billVsEstimate, customerState, isMonth, lastChinaMonth } from '@/utils/hlht'

describe('billVsEstimate', () => {
  it('shows the partner bill minus our estimate in yuan, from integer fen', () => {
    expect(billVsEstimate(201, 199)).toEqual({ text: '+0.02', type: 'danger' })
    expect(billVsEstimate(170, 175)).toEqual({ text: '-0.05', type: 'danger' })
    expect(billVsEstimate(175, 175)).toEqual({ text: '一致', type: 'success' })
  })
  it('says the bill has not come while only the estimate exists, and nothing without an estimate', () => {
    expect(billVsEstimate(null, 480)).toEqual({ text: '账单未到', type: 'warning' })
    expect(billVsEstimate(175, null)).toEqual({ text: '-', type: 'info' })
    expect(billVsEstimate(undefined, undefined).text).toBe('-')
  })
})

describe('lastChinaMonth', () => {
  it('is the previous month at the wall clock in Shanghai', () => {
    expect(lastChinaMonth(new Date('2026-12-04T12:00:00Z'))).toBe('2026-11')
    // 2026-11-30 16:00 UTC is already 2026-12-01 00:00 in Shanghai
    expect(lastChinaMonth(new Date('2026-11-30T16:00:00Z'))).toBe('2026-11')
    expect(lastChinaMonth(new Date('2026-11-30T15:59:59Z'))).toBe('2026-10')
  })
  it('steps back over the new year', () => {
    expect(lastChinaMonth(new Date('2027-01-10T00:00:00Z'))).toBe('2026-12')
    expect(lastChinaMonth(new Date('2026-12-31T16:00:00Z'))).toBe('2026-12')
  })
})

describe('isMonth and customerState', () => {
  it('accepts only YYYY-MM with a real month', () => {
    expect(isMonth('2026-11')).toBe(true)
    expect(isMonth('2026-13')).toBe(false)
    expect(isMonth('2026-1')).toBe(false)
    expect(isMonth('')).toBe(false)
    expect(isMonth(null)).toBe(false)
  })
  it('labels every state in Chinese, an unknown one verbatim', () => {
    expect(customerState('settled')).toEqual({ label: '已结算', type: 'success' })
    expect(customerState('finished').label).toBe('已停止（待账单）')
    expect(customerState('odd').label).toBe('odd')
  })
})
