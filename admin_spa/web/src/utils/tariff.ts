/**
 * Client-side check of 24 h time-of-use segments, mirroring the server's rules so the form
 * can point at the wrong row before saving: segments cover 00:00-24:00 with no gap and no
 * overlap, each start < end (24:00 is allowed only as an end), prices are ≥ 0 yuan/kWh
 * with at most 4 decimals. The server stays the judge (TARIFF_SEGMENTS_* codes).
 */
import type { TariffSegment, Tier } from '@/api/types'

export const DAY_MINUTES = 24 * 60

export const TIERS: ReadonlyArray<{ value: Tier; label: string; color: string }> = [
  { value: 'sharp', label: '尖', color: '#c0392b' },
  { value: 'peak', label: '峰', color: '#e6a23c' },
  { value: 'flat', label: '平', color: '#409eff' },
  { value: 'valley', label: '谷', color: '#67c23a' },
]

export const TIER_LABEL: Record<Tier, string> = { sharp: '尖', peak: '峰', flat: '平', valley: '谷' }

export type SegmentField = 'start' | 'end' | 'tier' | 'electricity_price' | 'service_price'

export type SegmentIssueCode =
  | 'TARIFF_SEGMENTS_GAP'
  | 'TARIFF_SEGMENTS_OVERLAP'
  | 'TARIFF_SEGMENTS_INCOMPLETE'
  | 'TARIFF_PRICE_INVALID'
  | 'TARIFF_TIME_INVALID'
  | 'TARIFF_TIER_INVALID'

export interface SegmentIssue {
  /** 0-based index of the row as the user sees it; -1 for the whole table. */
  row: number
  field?: SegmentField
  code: SegmentIssueCode
  message: string
}

/** A row being edited: everything may still be empty or wrong. */
export interface SegmentDraft {
  start: string
  end: string
  tier: Tier | ''
  electricity_price: string
  service_price: string
}

const TIME_RE = /^(\d{2}):(\d{2})$/
const PRICE_RE = /^\d+(\.\d{1,4})?$/

/** "HH:MM" → minutes of the day; 24:00 → 1440; anything else → null. */
export function parseTime(value: string): number | null {
  const m = TIME_RE.exec(value.trim())
  if (!m) return null
  const h = Number(m[1])
  const min = Number(m[2])
  if (min > 59) return null
  if (h === 24 && min === 0) return DAY_MINUTES
  if (h > 23) return null
  return h * 60 + min
}

export function formatMinutes(minutes: number): string {
  const h = Math.floor(minutes / 60)
  const m = minutes % 60
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`
}

/** A unit price in yuan/kWh as the API takes it: a decimal string, ≥ 0, ≤ 4 decimals. */
export function isValidPrice(value: string): boolean {
  return PRICE_RE.test(value.trim())
}

const rowName = (i: number) => `第 ${i + 1} 行`

export function validateSegments(rows: SegmentDraft[]): SegmentIssue[] {
  const issues: SegmentIssue[] = []
  if (rows.length === 0) {
    return [{ row: -1, code: 'TARIFF_SEGMENTS_INCOMPLETE', message: '请至少添加一个时段，覆盖 00:00-24:00' }]
  }

  const spans: Array<{ row: number; start: number; end: number }> = []
  let timesReadable = true
  rows.forEach((r, i) => {
    const start = parseTime(r.start)
    const end = parseTime(r.end)
    let ok = true
    if (start === null || start === DAY_MINUTES) {
      issues.push({ row: i, field: 'start', code: 'TARIFF_TIME_INVALID', message: `${rowName(i)}：开始时间应为 00:00-23:59 的 HH:MM` })
      ok = false
    }
    if (end === null || end === 0) {
      issues.push({ row: i, field: 'end', code: 'TARIFF_TIME_INVALID', message: `${rowName(i)}：结束时间应为 00:01-24:00 的 HH:MM` })
      ok = false
    }
    if (!ok) timesReadable = false
    if (ok && start !== null && end !== null) {
      if (end <= start) {
        timesReadable = false
        issues.push({ row: i, field: 'end', code: 'TARIFF_TIME_INVALID', message: `${rowName(i)}：结束时间必须晚于开始时间（跨零点请拆成两段）` })
      } else {
        spans.push({ row: i, start, end })
      }
    }
    if (!TIERS.some((t) => t.value === r.tier)) {
      issues.push({ row: i, field: 'tier', code: 'TARIFF_TIER_INVALID', message: `${rowName(i)}：请选择尖/峰/平/谷` })
    }
    if (!isValidPrice(r.electricity_price)) {
      issues.push({ row: i, field: 'electricity_price', code: 'TARIFF_PRICE_INVALID', message: `${rowName(i)}：电费单价应为不小于 0、最多 4 位小数的数字` })
    }
    if (!isValidPrice(r.service_price)) {
      issues.push({ row: i, field: 'service_price', code: 'TARIFF_PRICE_INVALID', message: `${rowName(i)}：服务费单价应为不小于 0、最多 4 位小数的数字` })
    }
  })

  // Coverage is judged only on rows whose times are readable, so one typo gives one message.
  if (!timesReadable) return issues
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end)
  const first = sorted[0]!
  if (first.start !== 0) {
    issues.push({ row: first.row, field: 'start', code: 'TARIFF_SEGMENTS_INCOMPLETE', message: `时段未覆盖 00:00-${formatMinutes(first.start)}：${rowName(first.row)}应从 00:00 开始` })
  }
  // Walk in start order keeping how far the day is covered so far (and by which row).
  let reach = first.end
  let reachRow = first.row
  for (let k = 1; k < sorted.length; k += 1) {
    const cur = sorted[k]!
    if (cur.start > reach) {
      issues.push({ row: cur.row, field: 'start', code: 'TARIFF_SEGMENTS_GAP', message: `${formatMinutes(reach)}-${formatMinutes(cur.start)} 没有时段：${rowName(reachRow)}与${rowName(cur.row)}之间有空档` })
    } else if (cur.start < reach) {
      issues.push({ row: cur.row, field: 'start', code: 'TARIFF_SEGMENTS_OVERLAP', message: `${rowName(cur.row)}与${rowName(reachRow)}重叠（${formatMinutes(cur.start)}-${formatMinutes(Math.min(reach, cur.end))}）` })
    }
    if (cur.end > reach) {
      reach = cur.end
      reachRow = cur.row
    }
  }
  if (reach !== DAY_MINUTES) {
    issues.push({ row: reachRow, field: 'end', code: 'TARIFF_SEGMENTS_INCOMPLETE', message: `时段未覆盖 ${formatMinutes(reach)}-24:00：最后一段应到 24:00 结束` })
  }
  return issues
}

/** Valid drafts → the API's segments, sorted by start, prices as given (strings). */
export function toSegments(rows: SegmentDraft[]): TariffSegment[] {
  return [...rows]
    .sort((a, b) => (parseTime(a.start) ?? 0) - (parseTime(b.start) ?? 0))
    .map((r) => ({
      start: r.start.trim(),
      end: r.end.trim(),
      tier: r.tier as Tier,
      electricity_price: r.electricity_price.trim(),
      service_price: r.service_price.trim(),
    }))
}

/** The API's segments → rows to edit. The document gives no type for start and end ("HH:MM"
 * on the wire): anything else becomes an empty time, which validateSegments points at. */
export function toDrafts(segments: TariffSegment[]): SegmentDraft[] {
  return segments.map((s) => ({
    ...s,
    start: typeof s.start === 'string' ? s.start : '',
    end: typeof s.end === 'string' ? s.end : '',
  }))
}
