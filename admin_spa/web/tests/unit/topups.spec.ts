import { describe, expect, it } from 'vitest'
import { topupQuery, topupState } from '@/utils/topups'

describe('topups', () => {
  it('names each state in Chinese and keeps an unknown one', () => {
    expect(topupState('paid')).toEqual({ label: '已支付', type: 'success' })
    expect(topupState('created').label).toBe('待支付')
    expect(topupState('closed').label).toBe('已关闭')
    expect(topupState('refunding')).toEqual({ label: 'refunding', type: 'info' })
    expect(topupState(undefined).label).toBe('未知')
  })

  it('sends the filters trimmed, and nothing empty', () => {
    expect(topupQuery({ phone: ' 13900001001 ', state: 'paid' })).toEqual({
      phone: '13900001001', state: 'paid', operator_id: undefined, since: undefined, until: undefined,
    })
    expect(topupQuery({ phone: '   ', state: '', since: '', until: '' })).toEqual({
      phone: undefined, state: undefined, operator_id: undefined, since: undefined, until: undefined,
    })
    const range = { since: '2026-12-01T00:00:00+08:00', until: '2026-12-04T00:00:00+08:00' }
    expect(topupQuery({ phone: '', operator_id: 3, ...range })).toMatchObject({ operator_id: 3, ...range })
  })
})
