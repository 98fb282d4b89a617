import { http } from './http'
import type { EnergyLossPage, StationLoss, UnsettledOrderPage } from './types'

export const energyLossReport = (query: { month: string; station_id?: number; page?: number; page_size?: number }) =>
  http.get<EnergyLossPage>('/reports/energy-loss', { ...query })
export const unsettledOrders = (stationId: number, query: { month: string; page?: number; page_size?: number }) =>
  http.get<UnsettledOrderPage>(`/reports/energy-loss/${stationId}/unsettled`, { ...query })
export const recordMeterReading = (stationId: number, month: string, body: { reading_wh: number; note: string }) =>
  http.put<StationLoss>(`/stations/${stationId}/meter-readings/${month}`, body)
