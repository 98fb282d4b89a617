/** 设置 → 推广链接 (case #3): deep links per sub-operator with QR images, and the menu JSON. */
import { http } from './http'
import type { components } from './schema'

export type OperatorLinks = components['schemas']['OperatorLinksOut']
export type PromotionLink = components['schemas']['PromotionLinkOut']
export const listPromotionLinks = (operatorId?: number) =>
  http.get<{ items: OperatorLinks[] }>('/promotion-links', operatorId ? { operator_id: operatorId } : {})
