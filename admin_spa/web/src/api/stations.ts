import { http } from './http'
import type { PageQuery, Paged, Station, StationInput } from './types'

export interface StationQuery extends PageQuery {
  operator_id?: number
}

export const listStations = (query: StationQuery = {}) => http.get<Paged<Station>>('/stations', { ...query })
export const getStation = (id: number) => http.get<Station>(`/stations/${id}`)
export const createStation = (body: StationInput) => http.post<Station>('/stations', body)
export const updateStation = (id: number, body: Partial<StationInput>) =>
  http.patch<Station>(`/stations/${id}`, body)
export const deleteStation = (id: number) => http.delete(`/stations/${id}`)
