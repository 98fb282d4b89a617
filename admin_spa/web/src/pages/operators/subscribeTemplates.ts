import type { Operator } from '@/api/types'

/** The notice kinds a mini-program sends as subscribe messages (app.notices.templates). */
export const NOTICE_KINDS = [
  { kind: 'charge_started', label: '充电开始' },
  { kind: 'charge_finished', label: '充电结束' },
  { kind: 'occupancy_reminder', label: '占位提醒' },
  { kind: 'coupon_expiring', label: '优惠券即将过期' },
  { kind: 'refund_result', label: '退款结果' },
] as const

export type NoticeKind = (typeof NOTICE_KINDS)[number]['kind']

export type TemplateForm = Record<NoticeKind, string>

export interface TemplateTag {
  text: string
  type: 'success' | 'info'
}

export function emptyTemplates(): TemplateForm {
  return Object.fromEntries(NOTICE_KINDS.map((k) => [k.kind, ''])) as TemplateForm
}

/** The operator's own template ids, one per kind ("" where it entered none). */
export function templatesOf(op: Operator | null): TemplateForm {
  const form = emptyTemplates()
  for (const item of op?.subscribe_templates ?? []) {
    if (item.kind && item.kind in form) form[item.kind as NoticeKind] = item.template_id ?? ''
  }
  return form
}

/** The status tag of one kind as the form stands: the id typed, else the platform's setting
 * (what the server said), else 未配置（不发送）. */
export function templateTag(op: Operator | null, kind: NoticeKind, typed: string): TemplateTag {
  if (typed.trim()) return { text: '已配置', type: 'success' }
  const saved = (op?.subscribe_templates ?? []).find((t) => t.kind === kind)
  if (saved?.source === 'settings' && saved.effective_template_id) return { text: '已配置（平台设置）', type: 'success' }
  return { text: '未配置（不发送）', type: 'info' }
}

/** What to send: only the kinds that changed ("" clears one back to the platform's setting). */
export function templateChanges(op: Operator | null, form: TemplateForm): Partial<TemplateForm> {
  const before = templatesOf(op)
  const changes: Partial<TemplateForm> = {}
  for (const { kind } of NOTICE_KINDS) {
    const value = form[kind].trim()
    if (value !== before[kind]) changes[kind] = value
  }
  return changes
}
