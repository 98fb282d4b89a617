import { describe, expect, it } from 'vitest'
import { emptyOfferDraft, offerPayload } from '@/utils/topupOffer'

describe('新建充值活动 form → body', () => {
  it('sends the min top-up in integer fen and one item per template (case #5)', () => {
    const { body, errors } = offerPayload({
      name: ' 充100送券 ', minTopup: '100', rows: [{ templateId: 7, quantity: '8' }, { templateId: 9, quantity: ' 2 ' }],
    })
    expect(errors).toEqual({})
    expect(body).toEqual({ name: '充100送券', min_topup_fen: 10000, items: [{ template_id: 7, quantity: 8 }, { template_id: 9, quantity: 2 }] })
    expect(offerPayload({ name: '', minTopup: '0.29', rows: [{ templateId: 1, quantity: '1' }] }).body?.min_topup_fen).toBe(29)
  })

  it('says in Chinese what is wrong and sends nothing then', () => {
    expect(offerPayload(emptyOfferDraft())).toEqual({
      body: null,
      errors: { minTopup: '请填写大于 0 的充值门槛（元，最多两位小数）', rows: '第 1 行：请选择优惠券' },
    })
    const rows = [{ templateId: 1, quantity: '1' }, { templateId: 1, quantity: '1' }]
    expect(offerPayload({ name: '', minTopup: '50', rows }).errors.rows).toBe('第 2 行：同一种优惠券请合并为一行')
    expect(offerPayload({ name: '', minTopup: '50', rows: [{ templateId: 1, quantity: '101' }] }).errors.rows).toBe('第 1 行：数量须为 1–100 的整数')
    expect(offerPayload({ name: '', minTopup: '50', rows: [] }).errors.rows).toBe('请至少添加一种优惠券')
    expect(offerPayload({ name: '', minTopup: '1.234', rows: [{ templateId: 1, quantity: '1' }] }).body).toBeNull()
  })
})

describe('会员价 rate', () => {
  it('shows a pay-rate as 折 and reads 折 back as a pay-rate', async () => {
    const { rateText, discountPayload } = await import('@/utils/memberPricing')
    expect(rateText('0.7000')).toBe('7 折')
    expect(rateText('0.85')).toBe('8.5 折')
    expect(rateText('0.0000')).toBe('免服务费')
    expect(rateText('1.0000')).toBe('原价')
    expect(discountPayload({ groupCode: 'taxi', stationId: 3, discount: '7', reason: ' 试点 ' }).body).toEqual({
      group_code: 'taxi', rate: '0.7', station_id: 3, reason: '试点',
    })
    expect(discountPayload({ groupCode: '', stationId: null, discount: '12', reason: '' }).errors).toEqual({
      groupCode: '请选择会员分组', discount: '请填写 0–9.9 折，如 7 表示服务费七折，0 表示免服务费',
    })
  })
})
