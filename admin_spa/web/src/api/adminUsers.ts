import { http } from './http'
import type { AdminUser, AdminUserInput, AdminUserPage, AdminUserPatch, AdminUserQuery } from './types'

export const listAdminUsers = (query: AdminUserQuery = {}) => http.get<AdminUserPage>('/admin-users', { ...query })
export const createAdminUser = (body: AdminUserInput) => http.post<AdminUser>('/admin-users', body)
export const updateAdminUser = (id: number, body: AdminUserPatch) => http.patch<AdminUser>(`/admin-users/${id}`, body)
