/** 营销 → 会员价: pricing groups and service-fee discounts (per operator or per station). */
import { http } from './http'
import type { components } from './schema'

type Schemas = components['schemas']

export type PricingGroup = Schemas['PricingGroupOut']
export type PricingGroupBody = Schemas['PricingGroupIn']
export type ServiceDiscount = Schemas['DiscountOut']
export type ServiceDiscountBody = Schemas['DiscountIn']

export const listPricingGroups = () => http.get<{ items: PricingGroup[] }>('/pricing-groups')
export const createPricingGroup = (body: PricingGroupBody) => http.post<PricingGroup>('/pricing-groups', body)
export const listServiceDiscounts = () => http.get<{ items: ServiceDiscount[] }>('/service-discounts')
export const setServiceDiscount = (body: ServiceDiscountBody) => http.put<ServiceDiscount>('/service-discounts', body)
export const removeServiceDiscount = (id: number, reason: string) =>
  http.delete<void>(`/service-discounts/${id}`, { query: { reason } })
