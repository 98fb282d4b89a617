import { http } from './http'
import type { MemberPage, MemberQuery } from './types'

export const listMembers = (query: MemberQuery = {}) => http.get<MemberPage>('/members', { ...query })
