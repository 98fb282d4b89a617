import { describe, expect, it } from 'vitest'
import { fenToYuan, minusYuan, orderState, whToKwh } from '@/utils/format'

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

describe('whToKwh', () => {
  it('shows integer Wh as kWh with three decimals, without float rounding', () => {
    expect(whToKwh(0)).toBe('0.000')
    expect(whToKwh(7)).toBe('0.007')
    expect(whToKwh(1500)).toBe('1.500')
    expect(whToKwh(41837580)).toBe('41837.580')
    expect(whToKwh(-20)).toBe('-0.020')
    expect(whToKwh(undefined)).toBe('-')
  })
})

describe('orderState', () => {
  it('names every order state in Chinese and keeps an unknown one visible', () => {
    expect(orderState('settled').label).toBe('已结算')
    expect(orderState('failed').type).toBe('danger')
    expect(orderState('weird').label).toBe('weird')
    expect(orderState(undefined).label).toBe('未知')
  })
})

describe('minusYuan', () => {
  it('signs a deduction and never shows -0.00', () => {
    expect(minusYuan(120)).toBe('-1.20')
    expect(minusYuan(0)).toBe('0.00')
    expect(minusYuan(null)).toBe('-')
  })
})

import { yuanToFen } from '@/utils/format'

describe('yuanToFen', () => {
  it('reads yuan as integer fen without float rounding', () => {
    expect(yuanToFen('12.34')).toBe(1234)
    expect(yuanToFen('0.1')).toBe(10)
    expect(yuanToFen('19.99')).toBe(1999)
    expect(yuanToFen('-5')).toBe(-500)
    expect(yuanToFen(' 100 ')).toBe(10000)
  })
  it('refuses what is not an amount in fen', () => {
    expect(yuanToFen('1.234')).toBeNull()
    expect(yuanToFen('abc')).toBeNull()
    expect(yuanToFen('')).toBeNull()
  })
})
