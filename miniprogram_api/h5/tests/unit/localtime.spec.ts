import { describe, expect, it } from 'vitest'
import { formatLocalTime } from '@/utils/localtime'

describe('formatLocalTime', () => {
  it('writes a UTC instant in the given zone to the second', () => {
    expect(formatLocalTime('2019-11-13T15:59:59+00:00', 'Asia/Shanghai')).toBe('2019-11-13 23:59:59')
    expect(formatLocalTime('2019-11-13T16:00:00Z', 'Asia/Shanghai')).toBe('2019-11-14 00:00:00')
  })

  it('writes nothing for nothing', () => {
    expect(formatLocalTime(null)).toBe('')
    expect(formatLocalTime('not a time')).toBe('')
  })
})
