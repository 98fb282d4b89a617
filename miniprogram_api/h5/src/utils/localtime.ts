// Times the API sends in UTC (ISO 8601) written in the driver's local time, to the second.

const pad = (n: number) => String(n).padStart(2, '0')

/** "2026-12-04T10:00:05+00:00" → "2026-12-04 18:00:05" in Asia/Shanghai (the zone given, or
 * the browser's); "" for nothing or text that is no time. */
export function formatLocalTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(d)
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0)
  return `${get('year')}-${pad(get('month'))}-${pad(get('day'))} ${pad(get('hour'))}:${pad(get('minute'))}:${pad(get('second'))}`
}
