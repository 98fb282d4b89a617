/** What the refund review shows: states in Chinese, the sums of a request's parts, blockers. */
import type { MerchantBlocker, Refund, RefundPart } from '@/api/refunds'

type TagType = 'success' | 'warning' | 'danger' | 'info' | 'primary'

export const REFUND_STATE: Record<string, { label: string; type: TagType }> = {
  pending_review: { label: '待审核', type: 'warning' },
  approved: { label: '已通过', type: 'primary' },
  processing: { label: '退款中', type: 'primary' },
  succeeded: { label: '已退款', type: 'success' },
  failed: { label: '退款失败', type: 'danger' },
  rejected: { label: '已驳回', type: 'info' },
}

export const REFUND_PART_STATE: Record<string, { label: string; type: TagType }> = {
  pending: { label: '待审核', type: 'warning' },
  processing: { label: '退款中', type: 'primary' },
  succeeded: { label: '已退回', type: 'success' },
  failed: { label: '失败', type: 'danger' },
  rejected: { label: '已驳回', type: 'info' },
}

export function refundState(state: string | null | undefined) {
  return REFUND_STATE[state ?? ''] ?? { label: state || '未知', type: 'info' as const }
}

export function refundPartState(state: string | null | undefined) {
  return REFUND_PART_STATE[state ?? ''] ?? { label: state || '未知', type: 'info' as const }
}

export interface RefundTotals {
  /** taken from the wallet */
  amountFen: number
  /** the top-ups' coupons already spent, kept back (case #4 2019-10-15) */
  couponDeductionFen: number
  /** what WeChat Pay returns to the driver */
  refundFen: number
}

/** The sums over the parts (the request's amount is theirs: the server splits it). */
export function refundTotals(refund: Pick<Refund, 'parts'> | null | undefined): RefundTotals {
  const parts: RefundPart[] = refund?.parts ?? []
  const sum = (pick: (p: RefundPart) => number | undefined) => parts.reduce((acc, p) => acc + (pick(p) ?? 0), 0)
  return {
    amountFen: sum((p) => p.amount_fen),
    couponDeductionFen: sum((p) => p.coupon_deduction_fen),
    refundFen: sum((p) => p.refund_fen),
  }
}

/** `merchant_blockers` is a computed field (typed unknown): read only well-formed entries. */
export function merchantBlockers(refund: Pick<Refund, 'merchant_blockers'> | null | undefined): MerchantBlocker[] {
  const raw = refund?.merchant_blockers
  if (!Array.isArray(raw)) return []
  return raw.filter(
    (b): b is MerchantBlocker =>
      !!b && typeof b === 'object' && typeof (b as MerchantBlocker).operator_id === 'number',
  )
}

export const canReview = (refund: Pick<Refund, 'state'> | null | undefined) => refund?.state === 'pending_review'
