// The one money formatter and the one energy formatter of the H5 pages: the API speaks
// integer fen and integer Wh; these never go through floating point.

/** 1234 fen → "¥12.34"; -5 → "-¥0.05". */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`fen must be an integer: ${fen}`)
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const yuan = Math.trunc(abs / 100)
  const cents = abs % 100
  return `${sign}¥${yuan}.${String(cents).padStart(2, '0')}`
}

/** 12345 Wh → "12.345 kWh". */
export function formatWh(wh: number): string {
  if (!Number.isSafeInteger(wh)) throw new RangeError(`Wh must be an integer: ${wh}`)
  const sign = wh < 0 ? '-' : ''
  const abs = Math.abs(wh)
  return `${sign}${Math.trunc(abs / 1000)}.${String(abs % 1000).padStart(3, '0')} kWh`
}

/** 1530 m → "1.5 km"; 800 → "800 m". */
export function formatDistance(m: number | null | undefined): string {
  if (m == null) return ''
  if (m < 1000) return `${m} m`
  return `${(Math.round(m / 100) / 10).toFixed(1)} km`
}
