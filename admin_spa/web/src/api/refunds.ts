/** 退款审核: the drivers' refund requests, their parts per top-up, approve / reject. */
import { http } from './http'
import type { components, paths } from './schema'

type Schemas = components['schemas']

export type Refund = Schemas['RefundAdminOut']
export type RefundPart = Schemas['RefundPartAdminOut']
export type RefundPage = Schemas['RefundPage']
export type RefundQuery = NonNullable<paths['/api/admin/v1/refunds']['get']['parameters']['query']>
/** An operator whose WeChat Pay merchant is not configured (case #22): approval is refused. */
export interface MerchantBlocker {
  operator_id: number
  operator: string
}

export const listRefunds = (query: RefundQuery = {}) => http.get<RefundPage>('/refunds', { ...query })
export const getRefund = (id: number) => http.get<Refund>(`/refunds/${id}`)
// silent: the drawer shows the API's message itself, next to the button that failed
export const approveRefund = (id: number) => http.post<Refund>(`/refunds/${id}/approve`, undefined, { silent: true })
export const rejectRefund = (id: number, reason: string) =>
  http.post<Refund>(`/refunds/${id}/reject`, { reason }, { silent: true })
