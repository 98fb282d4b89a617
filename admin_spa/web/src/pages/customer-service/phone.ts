/** Customer-service phones' local time windows (case #16: a night number 21:00-09:00). */

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/

export const isClock = (value: string | null | undefined): value is string => !!value && CLOCK.test(value)

export function clockMinutes(value: string): number {
  const [h, m] = value.split(':').map(Number)
  return (h ?? 0) * 60 + (m ?? 0)
}

/** "21:00–09:00（次日）", "00:00–24:00（全天）"; the server's rule: start == end is all day, start > end crosses midnight. */
export function describeWindow(start: string | null | undefined, end: string | null | undefined): string {
  if (!isClock(start) || !isClock(end)) return '-'
  const s = clockMinutes(start) % 1440
  const e = clockMinutes(end) % 1440
  if (s === e) return `${start}–${end}（全天）`
  if (s > e) return `${start}–次日 ${end}`
  return `${start}–${end}`
}

/** Whether a phone answers at ``minute`` of the local day (mirrors app/drivers/customer_service.in_window). */
export function inWindow(start: string, end: string, minute: number): boolean {
  const s = clockMinutes(start) % 1440
  const e = clockMinutes(end) % 1440
  if (s === e) return true
  if (s < e) return s <= minute && minute < e
  return minute >= s || minute < e
}

/** The local minute of the day in Asia/Shanghai (the stations' default zone). */
export function shanghaiMinute(at: Date = new Date()): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Shanghai',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at)
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0)
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0)
  return hour * 60 + minute
}
