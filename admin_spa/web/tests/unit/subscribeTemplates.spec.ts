import { describe, expect, it } from 'vitest'
import type { Operator } from '@/api/types'
import { emptyTemplates, templateChanges, templatesOf, templateTag } from '@/pages/operators/subscribeTemplates'

const op: Operator = {
  id: 2,
  name: '广东云创',
  subscribe_templates: [
    { kind: 'charge_started', template_id: 'tmpl-own', effective_template_id: 'tmpl-own', source: 'operator', configured: true },
    { kind: 'refund_result', template_id: '', effective_template_id: 'tmpl-set', source: 'settings', configured: true },
    { kind: 'coupon_expiring', template_id: '', effective_template_id: '', source: 'none', configured: false },
  ],
}

describe('subscribe-message templates in the operator dialog', () => {
  it('fills the form with the operator’s own ids only', () => {
    expect(templatesOf(op)).toEqual({ ...emptyTemplates(), charge_started: 'tmpl-own' })
    expect(templatesOf(null)).toEqual(emptyTemplates())
  })

  it('tags each kind: typed, the platform setting, or not sent', () => {
    expect(templateTag(op, 'charge_started', 'tmpl-own').text).toBe('已配置')
    expect(templateTag(op, 'refund_result', '').text).toBe('已配置（平台设置）')
    expect(templateTag(op, 'coupon_expiring', ' ')).toEqual({ text: '未配置（不发送）', type: 'info' })
    expect(templateTag(null, 'charge_finished', '').text).toBe('未配置（不发送）')
  })

  it('sends only what changed, "" to clear one', () => {
    const form = { ...templatesOf(op), charge_started: '', coupon_expiring: ' tmpl-c ' }
    expect(templateChanges(op, form)).toEqual({ charge_started: '', coupon_expiring: 'tmpl-c' })
    expect(templateChanges(op, templatesOf(op))).toEqual({})
  })
})
