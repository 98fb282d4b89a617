import { describe, expect, it } from 'vitest'
import { kwhToWh, previousMonth, ratioText } from '@/utils/energyLoss'

describe('energy loss', () => {
  it('reads a meter reading in kWh as integer Wh', () => {
    expect(kwhToWh('46980')).toBe(46_980_000)
    expect(kwhToWh('41837.58')).toBe(41_837_580)
    expect(kwhToWh(' 46,980.5 ')).toBe(46_980_500)
    expect(kwhToWh('0.001')).toBe(1)
  })
  it('refuses what is not a kWh amount', () => {
    for (const bad of ['', '-1', '1.2345', 'abc', '1e3']) expect(kwhToWh(bad)).toBeNull()
  })
  it('shows basis points as a percentage (case #8: 89.05%)', () => {
    expect(ratioText(8905)).toBe('89.05%')
    expect(ratioText(10000)).toBe('100.00%')
    expect(ratioText(7)).toBe('0.07%')
    expect(ratioText(null)).toBe('-')
  })
  it('defaults to the month before', () => {
    expect(previousMonth(new Date(2019, 10, 13))).toBe('2019-10')
    expect(previousMonth(new Date(2020, 0, 5))).toBe('2019-12')
  })
})
