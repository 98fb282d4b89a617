import { http } from './http'
import type { LoginResult, Me, PermissionList } from './types'

export const login = (username: string, password: string) =>
  http.post<LoginResult>('/auth/login', { username, password })

export const fetchMe = () => http.get<Me>('/me')

export const fetchPermissions = () => http.get<PermissionList>('/permissions')

/** Revokes every token of this admin on the server (the local one is cleared by the caller). */
export const logout = () => http.post<void>('/auth/logout')
