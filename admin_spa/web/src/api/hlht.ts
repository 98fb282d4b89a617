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
