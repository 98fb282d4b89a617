import { http } from './http'
import type { Role, RoleInput, RolePage, RolePatch, RoleQuery } from './types'

export const listRoles = (query: RoleQuery = {}) => http.get<RolePage>('/roles', { ...query })
export const createRole = (body: RoleInput) => http.post<Role>('/roles', body)
export const updateRole = (id: number, body: RolePatch) => http.patch<Role>(`/roles/${id}`, body)
export const deleteRole = (id: number) => http.delete(`/roles/${id}`)
