import { describe, expect, it } from 'vitest'
import { formatElapsed, requestId } from '@/utils/duration'

describe('formatElapsed', () => {
  it('writes hours, minutes and seconds', () => {
    expect(formatElapsed(0)).toBe('00:00:00')
    expect(formatElapsed(3725)).toBe('01:02:05')
    expect(formatElapsed(-3)).toBe('00:00:00')
  })
})

describe('requestId', () => {
  it("matches the API's client_request_id rule and differs each time", () => {
    const a = requestId()
    expect(a).toMatch(/^[A-Za-z0-9_-]{8,40}$/)
    expect(requestId()).not.toBe(a)
  })
})
