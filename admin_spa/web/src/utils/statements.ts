/** 财务对账: labels of a run's state and a mismatch's kind, and which days have a bill. */

import type { components } from '@/api/schema'

export type TagType = 'success' | 'danger' | 'info' | 'warning'
type MismatchKind = components['schemas']['MismatchOut']['kind']

export const STATEMENT_STATES: Record<string, { label: string; type: TagType }> = {
  ok: { label: '一致', type: 'success' },
  mismatch: { label: '有差异', type: 'danger' },
  not_ready: { label: '账单未生成', type: 'info' },
  failed: { label: '失败', type: 'warning' },
}

/** Every kind the API can answer (the type checker refuses a missing one). */
export const MISMATCH_KINDS: Record<MismatchKind, string> & Record<string, string> = {
  missing_ours: '我方缺单',
  missing_wechat: '微信缺单',
  amount_differs: '金额不一致',
  state_differs: '状态不一致',
  fund_no_ours: '资金账单：我方缺单',
  fund_no_wechat: '资金账单：微信无资金变动',
  fund_amount: '资金账单：金额不一致',
  fund_state: '资金账单：状态不一致',
}

export const statementState = (state: string) =>
  STATEMENT_STATES[state] ?? { label: state, type: 'info' as TagType }

/** 'YYYY-MM-DD' of a moment in China (WeChat Pay's bill day). */
export function chinaDay(moment: Date): string {
  return new Date(moment.getTime() + 8 * 3600_000).toISOString().slice(0, 10)
}

/** A day (the date picker's local midnight) WeChat has no bill for yet: today in China or later. */
export function noBillYet(day: Date, now: Date = new Date()): boolean {
  const picked = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, '0')}-${String(day.getDate()).padStart(2, '0')}`
  return picked >= chinaDay(now)
}
