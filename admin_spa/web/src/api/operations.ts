import { http } from './http'
import type { DisconnectionReport, FaultPage, FaultQuery } from './types'

export const listFaults = (query: FaultQuery) => http.get<FaultPage>('/faults', { ...query })
export const disconnectionReport = (query: { since: string; until: string; station_id?: number }) =>
  http.get<DisconnectionReport>('/reports/disconnections', { ...query })

/** The export paths: the same query as the list (故障记录) or the report (离线统计). */
export const FAULTS_EXPORT = '/faults/export'
export const DISCONNECTIONS_EXPORT = '/reports/disconnections/export'
