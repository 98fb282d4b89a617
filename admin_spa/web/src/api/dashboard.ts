import { http } from './http'
import type { Dashboard } from './types'

export const getDashboard = () => http.get<Dashboard>('/dashboard')
