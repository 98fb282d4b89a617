import { http } from './http'
import type { OccupancyPolicy, OccupancyPolicyInput } from './types'

/** A station's occupancy fee rule; `is_active: false` means the station charges none (the default, case #19). */
export const getOccupancyPolicy = (stationId: number) => http.get<OccupancyPolicy>(`/stations/${stationId}/occupancy-policy`)
export const setOccupancyPolicy = (stationId: number, body: OccupancyPolicyInput) =>
  http.put<OccupancyPolicy>(`/stations/${stationId}/occupancy-policy`, body)
export const removeOccupancyPolicy = (stationId: number, reason: string) =>
  http.delete(`/stations/${stationId}/occupancy-policy`, { query: { reason } })
