import { http } from './http'
import type { AuditPage, AuditQuery } from './types'

export const listAuditLogs = (query: AuditQuery = {}) => http.get<AuditPage>('/audit-logs', { ...query })
