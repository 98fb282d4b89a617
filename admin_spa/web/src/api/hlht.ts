import { http } from './http'
import type { components } from './schema'

type Schemas = components['schemas']
export type HlhtPartner = Schemas['PartnerOut']
export type HlhtPartnerPage = Schemas['HlhtPartnerPage']
export type HlhtPartnerInput = Schemas['PartnerIn']
export type HlhtPartnerPatch = Schemas['PartnerPatch']

export const listPartners = (query: { page: number; page_size: number }) =>
  http.get<HlhtPartnerPage>('/hlht/partners', { ...query })
export const createPartner = (body: HlhtPartnerInput) => http.post<HlhtPartner>('/hlht/partners', body)
export const updatePartner = (id: number, body: HlhtPartnerPatch) =>
  http.patch<HlhtPartner>(`/hlht/partners/${id}`, body)

export type HlhtPush = Schemas['PushOut']
export type HlhtPushPage = Schemas['HlhtPushPage']
export type HlhtPushDetail = Schemas['PushDetailOut']

export const listPushes = (query: { page: number; page_size: number; state?: string; interface?: string }) =>
  http.get<HlhtPushPage>('/hlht/pushes', { ...query })
export const getPush = (id: number) => http.get<HlhtPushDetail>(`/hlht/pushes/${id}`)
export const retryPush = (id: number) => http.post<HlhtPush>(`/hlht/pushes/${id}/retry`, {})

export type HlhtCustomerOrder = Schemas['CustomerOrderOut']
export type HlhtCustomerOrderPage = Schemas['HlhtCustomerOrderPage']
export type HlhtRoamingOrder = Schemas['RoamingOrderOut']
export type HlhtRoamingOrderPage = Schemas['HlhtRoamingOrderPage']

export interface HlhtOrderQuery {
  page: number
  page_size: number
  partner_id?: number
  state?: string
  disputed?: string
  estimated?: string
  driver_id?: number
}

/** Our drivers' orders on partners' piles (we are the customer platform). */
export const listCustomerOrders = (query: HlhtOrderQuery) =>
  http.get<HlhtCustomerOrderPage>('/hlht/customer-orders', { ...query })
/** Partners' drivers' orders on our piles (we are the pile owner). */
export const listRoamingOrders = (query: HlhtOrderQuery) =>
  http.get<HlhtRoamingOrderPage>('/hlht/roaming-orders', { ...query })
/** The path of a partner's monthly statement (xlsx, both directions), for useExport. */
export const STATEMENT_EXPORT = '/hlht/statement/export'
