import { describe, expect, it } from 'vitest'
import { formatDistance, formatFen, formatWh } from '@/utils/format'

describe('formatFen', () => {
  it('writes fen as yuan with two decimals', () => {
    expect(formatFen(0)).toBe('¥0.00')
    expect(formatFen(5)).toBe('¥0.05')
    expect(formatFen(1234)).toBe('¥12.34')
    expect(formatFen(10000)).toBe('¥100.00')
    expect(formatFen(-5)).toBe('-¥0.05')
  })
  it('never goes through floating point', () => {
    // 0.1 + 0.2 style errors: 1.005 yuan would round to 1.00 with toFixed
    expect(formatFen(100_000_000_000_07)).toBe('¥100000000000.07')
    expect(formatFen(1005 - 1000)).toBe('¥0.05')
  })
  it('refuses a non-integer', () => {
    expect(() => formatFen(1.5)).toThrow(RangeError)
  })
})

describe('formatWh', () => {
  it('writes Wh as kWh with three decimals', () => {
    expect(formatWh(0)).toBe('0.000 kWh')
    expect(formatWh(7)).toBe('0.007 kWh')
    expect(formatWh(12345)).toBe('12.345 kWh')
    expect(formatWh(60000)).toBe('60.000 kWh')
  })
  it('refuses a non-integer', () => {
    expect(() => formatWh(0.5)).toThrow(RangeError)
  })
})

describe('formatDistance', () => {
  it('metres below a kilometre, kilometres above', () => {
    expect(formatDistance(800)).toBe('800 m')
    expect(formatDistance(1530)).toBe('1.5 km')
    expect(formatDistance(null)).toBe('')
  })
})
