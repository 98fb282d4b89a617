import { http } from './http'
import type { Member, PageQuery, Paged } from './types'

export interface MemberQuery extends PageQuery {
  operator_id?: number
  pricing_group?: string
}

export const listMembers = (query: MemberQuery = {}) => http.get<Paged<Member>>('/members', { ...query })
