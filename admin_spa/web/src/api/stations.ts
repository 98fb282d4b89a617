import { http } from './http'
import type { Station, StationInput, StationPage, StationPatch, StationQuery } from './types'

export const listStations = (query: StationQuery = {}) => http.get<StationPage>('/stations', { ...query })
export const getStation = (id: number) => http.get<Station>(`/stations/${id}`)
export const createStation = (body: StationInput) => http.post<Station>('/stations', body)
export const updateStation = (id: number, body: StationPatch) => http.patch<Station>(`/stations/${id}`, body)
export const deleteStation = (id: number) => http.delete(`/stations/${id}`)
