import { describe, expect, it } from 'vitest'
import { tierShares, trendOption } from '@/utils/dashboard'

describe('tierShares', () => {
  it('gives whole percents that add up to 100', () => {
    const shares = tierShares([
      { tier: 'peak', energy_wh: 1 },
      { tier: 'flat', energy_wh: 1 },
      { tier: 'valley', energy_wh: 1 },
    ])
    expect(shares.map((s) => s.percent).reduce((a, b) => a + b, 0)).toBe(100)
    expect(shares.map((s) => s.label)).toEqual(['峰', '平', '谷'])
  })
  it('is empty without energy', () => {
    expect(tierShares([])).toEqual([])
    expect(tierShares([{ tier: 'peak', energy_wh: 0 }])).toEqual([])
  })
  it('keeps exact shares exact', () => {
    expect(tierShares([{ tier: 'peak', energy_wh: 3000 }, { tier: 'valley', energy_wh: 1000 }]).map((s) => s.percent)).toEqual([75, 25])
  })
})

describe('trendOption', () => {
  it('shows kWh and yuan from Wh and fen, one point per day', () => {
    const option = trendOption([
      { date: '2026-12-02', orders: 2, energy_wh: 12345, revenue_fen: 1075 },
      { date: '2026-12-03', orders: 0, energy_wh: 0, revenue_fen: 0 },
    ])
    expect(option.xAxis.data).toEqual(['12-02', '12-03'])
    expect(option.series[0].data).toEqual([2, 0])
    expect(option.series[1].data).toEqual([12.345, 0])
    expect(option.series[2].data).toEqual([10.75, 0])
  })
})
