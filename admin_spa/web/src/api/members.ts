import type { components } from './schema'
import { http } from './http'
import type {
  CouponGrantInput,
  CouponTemplatePage,
  Member,
  MemberCoupon,
  MemberCouponList,
  MemberPage,
  MemberQuery,
  WalletAdjustInput,
  WalletEntry,
  WalletEntryPage,
} from './types'

export const listMembers = (query: MemberQuery = {}) => http.get<MemberPage>('/members', { ...query })
export const getMember = (id: number) => http.get<Member>(`/members/${id}`)
export const walletEntries = (id: number, query: { page: number; page_size: number }) =>
  http.get<WalletEntryPage>(`/members/${id}/wallet-entries`, { ...query })
/** Through the ledger's one function on the server: audited, with the reason. */
export const adjustWallet = (id: number, body: WalletAdjustInput) =>
  http.post<WalletEntry>(`/members/${id}/wallet-adjustments`, body)
/** Ends every session of the member at once; the reason is audited. */
export const disableMember = (id: number, reason: string) => http.post<Member>(`/members/${id}/disable`, { reason })
export const enableMember = (id: number, reason: string) => http.post<Member>(`/members/${id}/enable`, { reason })
export const memberCoupons = (id: number) => http.get<MemberCouponList>(`/members/${id}/coupons`)
export const grantCoupons = (id: number, body: CouponGrantInput) =>
  http.post<MemberCouponList>(`/members/${id}/coupons`, body)
export const revokeCoupon = (couponId: number, reason: string) =>
  http.post<MemberCoupon>(`/coupons/${couponId}/revoke`, { reason })
export const listCouponTemplates = () => http.get<CouponTemplatePage>('/coupon-templates', { page: 1, page_size: 100 })

/** Cards and pile passwords issued to a member; a password is in the answer to its issue only. */
export type MemberCard = components['schemas']['CardOut']
export type CardIssueInput = components['schemas']['CardIssueIn']
export const memberCards = (id: number) => http.get<{ items: MemberCard[] }>(`/members/${id}/cards`)
export const issueCard = (id: number, body: CardIssueInput) => http.post<MemberCard>(`/members/${id}/cards`, body)
export const disableCard = (cardId: number, reason: string) =>
  http.post<MemberCard>(`/cards/${cardId}/disable`, { reason })
