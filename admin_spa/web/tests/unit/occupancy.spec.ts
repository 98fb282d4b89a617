import { describe, expect, it } from 'vitest'
import { occupancyDraft, occupancyPayload, occupancyText } from '@/utils/occupancy'

describe('occupancy policy form', () => {
  it('turns the typed rule into the API body: minutes, a yuan price string, a cap in fen', () => {
    const { payload, errors } = occupancyPayload({ grace: ' 15 ', price: '0.5', cap: '30', reason: '新规' })
    expect(errors).toEqual({})
    expect(payload).toEqual({ grace_minutes: 15, price_per_minute: '0.5', cap_fen: 3000, reason: '新规' })
  })
  it('leaves the cap out when blank (no cap)', () => {
    expect(occupancyPayload({ grace: '0', price: '0.0125', cap: '', reason: 'x' }).payload?.cap_fen).toBeNull()
  })
  it('names every field that is wrong, in Chinese', () => {
    const { payload, errors } = occupancyPayload({ grace: '-1', price: '0.12345', cap: '1.234', reason: ' ' })
    expect(payload).toBeNull()
    expect(Object.keys(errors).sort()).toEqual(['cap', 'grace', 'price', 'reason'])
    expect(errors.grace).toContain('分钟')
    expect(occupancyPayload({ grace: '1441', price: '1', cap: '', reason: 'x' }).errors.grace).toBeDefined()
    expect(occupancyPayload({ grace: '10', price: '0', cap: '', reason: 'x' }).errors.price).toBeDefined()
  })
  it('says the rule as drivers read it, and "不收占位费" by default (case #19)', () => {
    expect(occupancyText({ is_active: false })).toBe('不收占位费')
    expect(occupancyText({ is_active: true, grace_minutes: 15, price_per_minute: '0.5000', cap_fen: 3000 })).toBe(
      '充电结束后免费 15 分钟，之后每分钟 ¥0.5000，单笔封顶 ¥30.00',
    )
    expect(occupancyText({ is_active: true, grace_minutes: 0, price_per_minute: '1', cap_fen: null })).toContain('不封顶')
  })
  it('fills the form from the current rule, and proposes 15 free minutes when there is none', () => {
    expect(occupancyDraft({ is_active: true, grace_minutes: 20, price_per_minute: '0.8', cap_fen: 1050 })).toEqual({
      grace: '20', price: '0.8', cap: '10.50', reason: '',
    })
    expect(occupancyDraft({ is_active: false }).grace).toBe('15')
  })
})
