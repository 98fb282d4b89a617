/** 电量损耗 (case #8): entering a meter reading in kWh and showing the billed/metered ratio. */

/** "46980" / "46,980.5" / "41837.58" kWh → Wh as an integer (at most 3 decimals); else null. */
export function kwhToWh(text: string): number | null {
  const m = /^\s*(\d{1,10})(?:\.(\d{1,3}))?\s*$/.exec(text.replace(/,/g, ''))
  if (!m) return null
  return Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0'))
}

/** 8905 basis points → "89.05%"; no reading → "-". */
export function ratioText(bp: number | null | undefined): string {
  if (bp === null || bp === undefined) return '-'
  return `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, '0')}%`
}

/** A ratio under this share of the meter is worth a look (shown in red). */
export const LOW_RATIO_BP = 9000

/** The local month before `today` as YYYY-MM (the report's default). */
export function previousMonth(today: Date = new Date()): string {
  const d = new Date(today.getFullYear(), today.getMonth() - 1, 1)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`
}
