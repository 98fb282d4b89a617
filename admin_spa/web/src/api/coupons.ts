/** 营销 → 优惠券: coupon templates (list, activate / deactivate). */
import { http } from './http'
import type { components, paths } from './schema'
import type { Paged } from './types'

type Schemas = components['schemas']

export type CouponTemplate = Schemas['CouponTemplateOut']
export type CouponTemplateQuery = NonNullable<paths['/api/admin/v1/coupon-templates']['get']['parameters']['query']>

export const listCouponTemplates = (query: CouponTemplateQuery = {}) =>
  http.get<Paged<CouponTemplate>>('/coupon-templates', { ...query })
export const setCouponTemplateActive = (id: number, isActive: boolean) =>
  http.put<CouponTemplate>(`/coupon-templates/${id}/active`, { is_active: isActive })

export type CouponTemplateBody = Schemas['CouponTemplateIn']
export const createCouponTemplate = (body: CouponTemplateBody) => http.post<CouponTemplate>('/coupon-templates', body)

/** 营销 → 充值活动: top-up offers as the driver's top-up page states them (case #5). */
export type TopupOffer = Schemas['OfferOut']
export type TopupOfferBody = Schemas['OfferIn']
export const listTopupOffers = () => http.get<{ items: TopupOffer[] }>('/topup-offers')
export const createTopupOffer = (body: TopupOfferBody) => http.post<TopupOffer>('/topup-offers', body)
export const setTopupOfferActive = (id: number, isActive: boolean) =>
  http.put<TopupOffer>(`/topup-offers/${id}/active`, { is_active: isActive })

/** One coupon to every member of a pricing group; `request_id` makes a retry grant nothing twice. */
export type GroupGrantBody = Schemas['GroupGrantIn']
export type GroupGrantResult = Schemas['GroupGrantOut']
export const grantToGroup = (templateId: number, body: GroupGrantBody) =>
  http.post<GroupGrantResult>(`/coupon-templates/${templateId}/group-grants`, body)

/** The usage history of a template (case #6): holder, order, when, how much. */
export type CouponUse = Schemas['CouponUseOut']
export type CouponUseQuery = NonNullable<
  paths['/api/admin/v1/coupon-templates/{template_id}/coupons']['get']['parameters']['query']
>
export const templateUsage = (templateId: number, query: CouponUseQuery = {}) =>
  http.get<Paged<CouponUse>>(`/coupon-templates/${templateId}/coupons`, { ...query })
