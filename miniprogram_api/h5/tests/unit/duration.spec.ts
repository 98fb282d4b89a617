import { describe, expect, it } from 'vitest'
import { formatElapsed, orderElapsedSeconds, requestId } from '@/utils/duration'

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

describe('orderElapsedSeconds', () => {
  it('a settled order shows its started to stopped duration, never 00:00:00', () => {
    const settled = {
      state: 'settled',
      elapsed_seconds: 0,
      started_at: '2026-12-04T10:00:00+00:00',
      stopped_at: '2026-12-04T11:02:05.600000+00:00',
    }
    expect(formatElapsed(orderElapsedSeconds(settled))).toBe('01:02:05')
    expect(orderElapsedSeconds({ ...settled, state: 'finished' })).toBe(3725)
  })

  it('a running order shows the live figure', () => {
    const charging = { state: 'charging', elapsed_seconds: 61, started_at: '2026-12-04T10:00:00Z', stopped_at: null }
    expect(orderElapsedSeconds(charging)).toBe(61)
    expect(orderElapsedSeconds({ state: 'failed', elapsed_seconds: 0, started_at: null, stopped_at: null })).toBe(0)
  })
})
