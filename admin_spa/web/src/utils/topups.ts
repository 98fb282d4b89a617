/** 充值记录: a top-up's state in Chinese, and the list's filters as the API's query. */
type TagType = 'success' | 'warning' | 'danger' | 'info' | 'primary'

export const TOPUP_STATE: Record<string, { label: string; type: TagType }> = {
  created: { label: '待支付', type: 'warning' },
  paid: { label: '已支付', type: 'success' },
  closed: { label: '已关闭', type: 'info' },
}

export function topupState(state: string | null | undefined): { label: string; type: TagType } {
  return TOPUP_STATE[state ?? ''] ?? { label: state || '未知', type: 'info' }
}

export interface TopUpFilters {
  state?: string
  phone: string
  operator_id?: number
  since?: string
  until?: string
}

/** The filters the list and its export send: a trimmed phone, nothing empty. */
export function topupQuery(filters: TopUpFilters): Record<string, string | number | undefined> {
  return {
    state: filters.state || undefined,
    phone: filters.phone.trim() || undefined,
    operator_id: filters.operator_id || undefined,
    since: filters.since || undefined,
    until: filters.until || undefined,
  }
}
