import { http } from './http'
import type { Tariff, TariffCreate, TariffPage, TariffQuery, TariffSegment, TariffVersionList } from './types'

export const listTariffs = (query: TariffQuery = {}) => http.get<TariffPage>('/tariffs', { ...query })
export const getTariff = (id: number) => http.get<Tariff>(`/tariffs/${id}`)
export const createTariff = (body: TariffCreate) => http.post<Tariff>('/tariffs', body)
export const renameTariff = (id: number, name: string) => http.patch<Tariff>(`/tariffs/${id}`, { name })
/** Saves the segments as a new version; the server answers with the tariff. */
export const saveSegments = (id: number, segments: TariffSegment[]) =>
  http.put<Tariff>(`/tariffs/${id}/segments`, { segments })
export const listVersions = (id: number) => http.get<TariffVersionList>(`/tariffs/${id}/versions`)
