/** 互联互通: labels of our drivers' partner orders, the partner's bill against our estimate, and the statement's month. */

import { fenToYuan } from '@/utils/format'

export type TagType = 'success' | 'danger' | 'info' | 'warning' | 'primary'

/** Our drivers' orders on partners' piles (CustomerState). */
export const CUSTOMER_STATES: Record<string, { label: string; type: TagType }> = {
  starting: { label: '启动中', type: 'warning' },
  charging: { label: '充电中', type: 'primary' },
  stopping: { label: '停止中', type: 'warning' },
  finished: { label: '已停止（待账单）', type: 'info' },
  settled: { label: '已结算', type: 'success' },
  failed: { label: '启动失败', type: 'danger' },
}

export const customerState = (state: string | null | undefined) =>
  CUSTOMER_STATES[state ?? ''] ?? { label: state || '-', type: 'info' as TagType }

/** The yes / no filters (disputed, estimated) as the URL and the API spell them. */
export const YES_NO: Record<string, string> = { true: '是', false: '否' }

/**
 * The partner's bill against our estimate, for the review column: '-' without an estimate,
 * '账单未到' while only the estimate exists, else the difference in yuan (integer fen).
 */
export function billVsEstimate(
  partnerFen: number | null | undefined,
  estimateFen: number | null | undefined,
): { text: string; type: TagType } {
  if (estimateFen === null || estimateFen === undefined) return { text: '-', type: 'info' }
  if (partnerFen === null || partnerFen === undefined) return { text: '账单未到', type: 'warning' }
  const diff = partnerFen - estimateFen
  if (diff === 0) return { text: '一致', type: 'success' }
  return { text: `${diff > 0 ? '+' : ''}${fenToYuan(diff)}`, type: 'danger' }
}

/** 'YYYY-MM' of the month before `now`'s month in China (the platform's time zone): the month a statement is usually made for. */
export function lastChinaMonth(now: Date = new Date()): string {
  const china = new Date(now.getTime() + 8 * 3600_000)
  let year = china.getUTCFullYear()
  let month = china.getUTCMonth() // 0-based: the previous month's 1-based number
  if (month === 0) {
    year -= 1
    month = 12
  }
  return `${year}-${String(month).padStart(2, '0')}`
}

/** A month picker's value the API accepts ('YYYY-MM'). */
export const isMonth = (value: string | null | undefined): value is string => !!value && /^\d{4}-(0[1-9]|1[0-2])$/.test(value)
