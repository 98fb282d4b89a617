/** Display helpers: money in fen → yuan, ISO timestamps → local time. */

/** 12345 → "123.45"; -5 → "-0.05". Integer arithmetic, no float rounding. */
export function fenToYuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined || !Number.isFinite(fen)) return '-'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(fen))
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

const pad = (n: number) => String(n).padStart(2, '0')

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '-'
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return value
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

export const PRICING_GROUP_LABEL: Record<string, string> = {
  none: '普通',
  ride_hailing: '网约车',
  taxi: '出租车',
}

export const PROTOCOL_LABEL: Record<string, string> = { ocpp16: 'OCPP 1.6J', ykc: '云快充 YKC' }

export const CONNECTOR_STATUS: Record<string, { label: string; type: 'success' | 'warning' | 'danger' | 'info' | 'primary' }> = {
  available: { label: '空闲', type: 'success' },
  preparing: { label: '准备中', type: 'warning' },
  charging: { label: '充电中', type: 'primary' },
  suspended: { label: '暂停', type: 'warning' },
  finishing: { label: '结束中', type: 'warning' },
  occupied: { label: '占用', type: 'warning' },
  reserved: { label: '已预约', type: 'info' },
  faulted: { label: '故障', type: 'danger' },
  unavailable: { label: '不可用', type: 'info' },
  offline: { label: '离线', type: 'info' },
  unknown: { label: '未知', type: 'info' },
}

export function connectorStatus(status: string) {
  return CONNECTOR_STATUS[status?.toLowerCase?.() ?? 'unknown'] ?? { label: status || '未知', type: 'info' as const }
}

/** 12345 Wh → "12.345"; integer arithmetic like fenToYuan. */
export function whToKwh(wh: number | null | undefined): string {
  if (wh === null || wh === undefined || !Number.isFinite(wh)) return '-'
  const sign = wh < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(wh))
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`
}

export const ORDER_STATE: Record<string, { label: string; type: 'success' | 'warning' | 'danger' | 'info' | 'primary' }> = {
  created: { label: '已创建', type: 'info' },
  starting: { label: '启动中', type: 'warning' },
  charging: { label: '充电中', type: 'primary' },
  stopping: { label: '结束中', type: 'warning' },
  finished: { label: '待结算', type: 'warning' },
  settled: { label: '已结算', type: 'success' },
  failed: { label: '启动失败', type: 'danger' },
  abnormal: { label: '异常', type: 'danger' },
}

export function orderState(state: string | null | undefined) {
  return ORDER_STATE[state ?? ''] ?? { label: state || '未知', type: 'info' as const }
}

export const START_METHOD_LABEL: Record<string, string> = {
  remote: '小程序',
  card: '刷卡',
  password: '密码',
  unknown: '未知',
}

/** A deduction shown with its sign: 120 → "-1.20", 0 → "0.00". */
export function minusYuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined || !Number.isFinite(fen)) return '-'
  return fen > 0 ? `-${fenToYuan(fen)}` : fenToYuan(-fen)
}

export const ABNORMAL_KIND_LABEL: Record<string, string> = {
  estimated: '预估结算',
  amount_mismatch: '金额不符',
  offline: '离线期间',
  failed: '启动失败',
  unknown_session: '未知会话',
  late_record: '迟到记录',
  settlement_failed: '结算失败',
  no_tariff: '无电价',
  arrears: '欠费',
  occupancy_review: '占位费待审',
  implausible_energy: '电量异常待审',
  superseded: '被新会话取代',
  pile_clock: '桩时钟偏差',
}

/** "12.34" → 1234 fen, "-5" → -500; anything else (3 decimals, letters, blank) → null. No float arithmetic. */
export function yuanToFen(text: string): number | null {
  const m = /^\s*(-?)(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text)
  if (!m) return null
  const fen = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'))
  return m[1] === '-' ? -fen : fen
}
