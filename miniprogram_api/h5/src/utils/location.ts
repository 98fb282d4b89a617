// The driver's position for the nearby search: the browser's geolocation when the driver
// allows it, otherwise a default city centre with a wide radius (the list still shows).

export type Where = { lat: number; lng: number; radius_m: number; precise: boolean }

// 深圳市中心: the demo stations' city; a wide radius so a driver without location sees some
export const DEFAULT_WHERE: Where = { lat: 22.5431, lng: 114.0579, radius_m: 100_000, precise: false }
export const NEAR_RADIUS_M = 20_000

export function locate(timeoutMs = 5000): Promise<Where> {
  return new Promise((resolve) => {
    const geo = typeof navigator !== 'undefined' ? navigator.geolocation : undefined
    if (!geo) {
      resolve(DEFAULT_WHERE)
      return
    }
    let done = false
    const finish = (w: Where) => {
      if (!done) {
        done = true
        resolve(w)
      }
    }
    // some browsers never call back when the driver ignores the prompt
    const timer = setTimeout(() => finish(DEFAULT_WHERE), timeoutMs + 500)
    geo.getCurrentPosition(
      (pos) => {
        clearTimeout(timer)
        finish({
          lat: pos.coords.latitude,
          lng: pos.coords.longitude,
          radius_m: NEAR_RADIUS_M,
          precise: true,
        })
      },
      () => {
        clearTimeout(timer)
        finish(DEFAULT_WHERE)
      },
      { enableHighAccuracy: false, timeout: timeoutMs, maximumAge: 60_000 },
    )
  })
}
