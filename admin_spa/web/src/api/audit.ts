import { http } from './http'
import type { AuditLog, PageQuery, Paged } from './types'

export interface AuditQuery extends PageQuery {
  action?: string
  target_type?: string
  target_id?: string
}

export const listAuditLogs = (query: AuditQuery = {}) => http.get<Paged<AuditLog>>('/audit-logs', { ...query })
