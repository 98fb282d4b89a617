import { describe, expect, it } from 'vitest'
import { chinaDay, MISMATCH_KINDS, noBillYet, statementState } from '@/utils/statements'

describe('statements', () => {
  it('names each run state and mismatch kind in Chinese', () => {
    expect(statementState('mismatch')).toEqual({ label: '有差异', type: 'danger' })
    expect(statementState('not_ready').label).toBe('账单未生成')
    expect(statementState('other').label).toBe('other')
    expect(MISMATCH_KINDS.missing_wechat).toBe('微信缺单')
    expect(MISMATCH_KINDS.fund_no_wechat).toBe('资金账单：微信无资金变动')
    expect(MISMATCH_KINDS.fund_amount).toBe('资金账单：金额不一致')
  })
  it('takes the bill day in China time', () => {
    expect(chinaDay(new Date('2026-12-04T15:59:59Z'))).toBe('2026-12-04')
    expect(chinaDay(new Date('2026-12-04T16:00:00Z'))).toBe('2026-12-05')
  })
  it('offers only days that have ended in China', () => {
    const now = new Date('2026-12-04T16:30:00Z') // 2026-12-05 00:30 in China
    expect(noBillYet(new Date(2026, 11, 4), now)).toBe(false)
    expect(noBillYet(new Date(2026, 11, 5), now)).toBe(true)
    expect(noBillYet(new Date(2026, 11, 9), now)).toBe(true)
  })
})
