import { describe, expect, it } from 'vitest'
import { formatDuration, lastDays, weeklyOption } from '@/utils/operations'

describe('operations helpers', () => {
  it('gives the last days as an ISO window', () => {
    const now = new Date('2026-12-03T12:00:00Z')
    expect(lastDays(7, now)).toEqual({ since: '2026-11-26T12:00:00.000Z', until: '2026-12-03T12:00:00.000Z' })
  })
  it('reads offline time in hours and minutes', () => {
    expect(formatDuration(3725)).toBe('1小时2分')
    expect(formatDuration(59)).toBe('0分')
    expect(formatDuration(600)).toBe('10分')
  })
  it('sums the rows of a week, weeks in order', () => {
    const row = (week: string, n: number, s: number) => ({
      week_start: week, station_id: 1, station_name: '站', pile_id: 1, pile_code: 'P', disconnections: n, offline_seconds: s,
    })
    const option = weeklyOption([row('2019-01-14', 1, 1800), row('2019-01-07', 2, 3600), row('2019-01-07', 1, 3600)])
    expect(option.xAxis.data).toEqual(['2019-01-07 周', '2019-01-14 周'])
    expect(option.series[0].data).toEqual([3, 1])
    expect(option.series[1].data).toEqual([2, 0.5])
  })
})
