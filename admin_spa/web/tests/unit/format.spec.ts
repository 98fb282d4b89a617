import { describe, expect, it } from 'vitest'
import { fenToYuan } from '@/utils/format'

describe('fenToYuan', () => {
  it('shows integer fen as yuan with two decimals, without float rounding', () => {
    expect(fenToYuan(0)).toBe('0.00')
    expect(fenToYuan(5)).toBe('0.05')
    expect(fenToYuan(175)).toBe('1.75')
    expect(fenToYuan(10000)).toBe('100.00')
    expect(fenToYuan(-5)).toBe('-0.05')
    expect(fenToYuan(123456789)).toBe('1234567.89')
    expect(fenToYuan(null)).toBe('-')
  })
})
