import { http } from './http'
import type { LoginResult, Me, PermissionList } from './types'

export const login = (username: string, password: string) =>
  http.post<LoginResult>('/auth/login', { username, password })

export const fetchMe = () => http.get<Me>('/me')

export const fetchPermissions = () => http.get<PermissionList>('/permissions')
