import { http } from './http'
import type { OrderDetail, OrderSearchPage, OrderSearchQuery } from './types'

export const searchOrders = (query: OrderSearchQuery = {}) => http.get<OrderSearchPage>('/orders', { ...query })
export const getOrder = (orderNo: string) => http.get<OrderDetail>(`/orders/by-no/${encodeURIComponent(orderNo)}`)
