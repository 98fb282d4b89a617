import { http } from './http'
import type {
  AbnormalPage,
  AbnormalQuery,
  CorrectionInput,
  CorrectionPreview,
  CorrectionPreviewInput,
  CorrectionResult,
  OrderDetail,
  OrderSearchPage,
  OrderSearchQuery,
} from './types'

export const searchOrders = (query: OrderSearchQuery = {}) => http.get<OrderSearchPage>('/orders', { ...query })
export const getOrder = (orderNo: string) => http.get<OrderDetail>(`/orders/by-no/${encodeURIComponent(orderNo)}`)

export const listAbnormalOrders = (query: AbnormalQuery = {}) => http.get<AbnormalPage>('/abnormal-orders', { ...query })
export const correctOrder = (orderId: number, body: CorrectionInput) =>
  http.post<CorrectionResult>(`/orders/${orderId}/corrections`, body, { silent: true })
export const previewCorrection = (orderId: number, body: CorrectionPreviewInput) =>
  http.post<CorrectionPreview>(`/orders/${orderId}/corrections/preview`, body, { silent: true })
