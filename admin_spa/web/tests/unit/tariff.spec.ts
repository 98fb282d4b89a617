import { describe, expect, it } from 'vitest'
import { parseTime, toSegments, validateSegments, type SegmentDraft } from '@/utils/tariff'

const seg = (start: string, end: string, tier: SegmentDraft['tier'] = 'flat', e = '0.6500', s = '0.8000'): SegmentDraft => ({
  start,
  end,
  tier,
  electricity_price: e,
  service_price: s,
})

const valid = (): SegmentDraft[] => [
  seg('00:00', '08:00', 'valley', '0.3500', '0.6000'),
  seg('08:00', '10:00', 'flat'),
  seg('10:00', '12:00', 'peak', '1.0500'),
  seg('12:00', '14:00', 'flat'),
  seg('14:00', '19:00', 'peak', '1.0500'),
  seg('19:00', '21:00', 'sharp', '1.3000'),
  seg('21:00', '24:00', 'flat'),
]

const codes = (rows: SegmentDraft[]) => validateSegments(rows).map((i) => i.code)

describe('parseTime', () => {
  it('reads HH:MM and allows 24:00', () => {
    expect(parseTime('00:00')).toBe(0)
    expect(parseTime('07:30')).toBe(450)
    expect(parseTime('24:00')).toBe(1440)
  })
  it('rejects anything else', () => {
    for (const bad of ['24:01', '25:00', '7:30', '07:60', '', 'ab:cd', '0730']) {
      expect(parseTime(bad), bad).toBeNull()
    }
  })
})

describe('validateSegments', () => {
  it('accepts a full day in any row order', () => {
    expect(validateSegments(valid())).toEqual([])
    expect(validateSegments([...valid()].reverse())).toEqual([])
    expect(validateSegments([seg('00:00', '24:00')])).toEqual([])
  })

  it('finds a gap and names the row after it', () => {
    const rows = valid()
    rows[2] = seg('10:30', '12:00', 'peak') // 10:00-10:30 uncovered
    const issues = validateSegments(rows)
    expect(issues).toHaveLength(1)
    expect(issues[0]).toMatchObject({ row: 2, field: 'start', code: 'TARIFF_SEGMENTS_GAP' })
    expect(issues[0]!.message).toContain('10:00-10:30')
    expect(issues[0]!.message).toContain('第 3 行')
  })

  it('finds an overlap, also when a short row sits inside a long one', () => {
    const rows = valid()
    rows[1] = seg('07:00', '10:00') // overlaps row 1 (00:00-08:00) by an hour
    const issues = validateSegments(rows)
    expect(issues.map((i) => [i.row, i.code])).toEqual([[1, 'TARIFF_SEGMENTS_OVERLAP']])
    expect(issues[0]!.message).toContain('07:00-08:00')

    const nested = [seg('00:00', '12:00'), seg('02:00', '04:00'), seg('12:00', '24:00')]
    expect(validateSegments(nested).map((i) => [i.row, i.code])).toEqual([[1, 'TARIFF_SEGMENTS_OVERLAP']])
  })

  it('does not report a false gap after a row nested in a longer one', () => {
    // 04:00-12:00 is covered by row 1 even though row 2 ends at 04:00.
    const issues = validateSegments([seg('00:00', '12:00'), seg('02:00', '04:00'), seg('12:00', '24:00')])
    expect(issues.map((i) => i.code)).not.toContain('TARIFF_SEGMENTS_GAP')
  })

  it('requires the day to start at 00:00 and end at 24:00', () => {
    expect(codes([seg('01:00', '24:00')])).toEqual(['TARIFF_SEGMENTS_INCOMPLETE'])
    const late = validateSegments([seg('00:00', '12:00'), seg('12:00', '23:00')])
    expect(late).toHaveLength(1)
    expect(late[0]).toMatchObject({ row: 1, field: 'end', code: 'TARIFF_SEGMENTS_INCOMPLETE' })
    expect(codes([])).toEqual(['TARIFF_SEGMENTS_INCOMPLETE'])
  })

  it('rejects bad prices: negative, more than 4 decimals, not a number, empty', () => {
    for (const bad of ['-0.1', '0.12345', 'abc', '', '1e3', '.5']) {
      const issues = validateSegments([seg('00:00', '24:00', 'flat', bad, '0.8')])
      expect(issues, bad).toHaveLength(1)
      expect(issues[0]).toMatchObject({ row: 0, field: 'electricity_price', code: 'TARIFF_PRICE_INVALID' })
    }
    const service = validateSegments([seg('00:00', '12:00'), seg('12:00', '24:00', 'peak', '1', '-1')])
    expect(service).toEqual([expect.objectContaining({ row: 1, field: 'service_price', code: 'TARIFF_PRICE_INVALID' })])
    expect(validateSegments([seg('00:00', '24:00', 'flat', '0', '12.3456')])).toEqual([])
  })

  it('rejects a reversed or unreadable time range, and a missing tier', () => {
    expect(validateSegments([seg('00:00', '24:00'), seg('10:00', '09:00')])[0]).toMatchObject({
      row: 1,
      field: 'end',
      code: 'TARIFF_TIME_INVALID',
    })
    expect(validateSegments([seg('24:00', '24:00')])[0]).toMatchObject({ row: 0, field: 'start' })
    expect(validateSegments([seg('00:00', '24:00', '')])[0]).toMatchObject({ row: 0, code: 'TARIFF_TIER_INVALID' })
  })
})

describe('toSegments', () => {
  it('sorts by start and trims', () => {
    const out = toSegments([seg('12:00', '24:00', 'peak', ' 1.0 '), seg('00:00', '12:00', 'valley')])
    expect(out.map((s) => s.start)).toEqual(['00:00', '12:00'])
    expect(out[1]!.electricity_price).toBe('1.0')
  })
})
