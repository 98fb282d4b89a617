import { http } from './http'
import type { DisconnectionReport, FaultPage, FaultQuery } from './types'

export const listFaults = (query: FaultQuery) => http.get<FaultPage>('/faults', { ...query })
export const disconnectionReport = (query: { since: string; until: string; station_id?: number }) =>
  http.get<DisconnectionReport>('/reports/disconnections', { ...query })
