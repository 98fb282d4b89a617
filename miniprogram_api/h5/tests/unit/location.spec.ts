import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_WHERE, NEAR_RADIUS_M, locate } from '@/utils/location'

function withGeolocation(geo: Partial<Geolocation> | undefined): void {
  Object.defineProperty(navigator, 'geolocation', { value: geo, configurable: true })
}

describe('locate', () => {
  afterEach(() => {
    withGeolocation(undefined)
    vi.useRealTimers()
  })

  it("uses the browser's position with a near radius", async () => {
    withGeolocation({
      getCurrentPosition: (ok: PositionCallback) =>
        ok({ coords: { latitude: 22.53, longitude: 113.94 } } as GeolocationPosition),
    })
    await expect(locate()).resolves.toEqual({
      lat: 22.53,
      lng: 113.94,
      radius_m: NEAR_RADIUS_M,
      precise: true,
    })
  })

  it('falls back to the default city when the driver refuses', async () => {
    withGeolocation({
      getCurrentPosition: (_ok: PositionCallback, fail?: PositionErrorCallback | null) =>
        fail?.({ code: 1, message: 'denied' } as GeolocationPositionError),
    })
    await expect(locate()).resolves.toEqual(DEFAULT_WHERE)
  })

  it('falls back without geolocation at all', async () => {
    withGeolocation(undefined)
    await expect(locate()).resolves.toEqual(DEFAULT_WHERE)
  })

  it('falls back when the browser never answers', async () => {
    vi.useFakeTimers()
    withGeolocation({ getCurrentPosition: () => {} })
    const found = locate(1000)
    await vi.advanceTimersByTimeAsync(2000)
    await expect(found).resolves.toEqual(DEFAULT_WHERE)
  })
})
