import { http } from './http'
import type { PageQuery, Paged, Role, RoleInput } from './types'

export const listRoles = (query: PageQuery = {}) => http.get<Paged<Role>>('/roles', { ...query })
export const createRole = (body: RoleInput) => http.post<Role>('/roles', body)
export const updateRole = (id: number, body: Partial<RoleInput>) => http.patch<Role>(`/roles/${id}`, body)
export const deleteRole = (id: number) => http.delete(`/roles/${id}`)
