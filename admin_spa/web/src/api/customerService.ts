/** 客服电话: customer-service phones with their local time windows (case #16). */
import { http } from './http'
import type { components, paths } from './schema'

type Schemas = components['schemas']

/** The document types the HH:MM clock fields `unknown` (a custom field): they are strings. */
type Clocked<T> = Omit<T, 'start' | 'end'> & { start: string; end: string }

export type CustomerServicePhone = Clocked<Schemas['CustomerServicePhoneOut']>
export type CustomerServicePhonePage = Omit<Schemas['CustomerServicePhonePage'], 'items'> & {
  items?: CustomerServicePhone[]
}
export type CustomerServicePhoneInput = Clocked<Schemas['CustomerServicePhoneIn']>
export type CustomerServicePhonePatch = Partial<Clocked<Schemas['CustomerServicePhonePatch']>>
export type CustomerServiceQuery = NonNullable<
  paths['/api/admin/v1/customer-service-phones']['get']['parameters']['query']
>

export const listPhones = (query: CustomerServiceQuery = {}) =>
  http.get<CustomerServicePhonePage>('/customer-service-phones', { ...query })
export const createPhone = (body: CustomerServicePhoneInput) =>
  http.post<CustomerServicePhone>('/customer-service-phones', body, { silent: true })
export const updatePhone = (id: number, body: CustomerServicePhonePatch) =>
  http.patch<CustomerServicePhone>(`/customer-service-phones/${id}`, body, { silent: true })
export const deletePhone = (id: number) => http.delete(`/customer-service-phones/${id}`)
