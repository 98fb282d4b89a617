import { http } from './http'
import type { AdminUser, AdminUserInput, PageQuery, Paged } from './types'

export const listAdminUsers = (query: PageQuery = {}) =>
  http.get<Paged<AdminUser>>('/admin-users', { ...query })
export const createAdminUser = (body: AdminUserInput) => http.post<AdminUser>('/admin-users', body)
export const updateAdminUser = (id: number, body: Partial<AdminUserInput>) =>
  http.patch<AdminUser>(`/admin-users/${id}`, body)
