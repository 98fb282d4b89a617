import { http } from './http'
import type {
  Connector,
  HardwareList,
  HardwareReplacement,
  Pile,
  PileCommandAnswer,
  PileCommandInput,
  PileConnectionEventPage,
  PileInput,
  PilePassword,
  PilePage,
  PilePatch,
  PileQuery,
} from './types'

export const listPiles = (query: PileQuery = {}) => http.get<PilePage>('/piles', { ...query })
export const getPile = (id: number) => http.get<Pile>(`/piles/${id}`)
export const createPile = (body: PileInput) => http.post<Pile>('/piles', body)
export const updatePile = (id: number, body: PilePatch) => http.patch<Pile>(`/piles/${id}`, body)
export const deletePile = (id: number) => http.delete(`/piles/${id}`)
/** Answers with the pile as it is after the swap. */
export const replaceHardware = (id: number, body: HardwareReplacement) =>
  http.post<Pile>(`/piles/${id}/replace-hardware`, body)
export const hardwareHistory = (id: number) => http.get<HardwareList>(`/piles/${id}/hardware-history`)
export const addConnector = (pileId: number, number: number) =>
  http.post<Connector>(`/piles/${pileId}/connectors`, { number })
export const deleteConnector = (id: number) => http.delete(`/connectors/${id}`)
/** A new password, shown once (only its hash is kept). */
export const setPilePassword = (id: number) => http.post<PilePassword>(`/piles/${id}/password`)
export const clearPilePassword = (id: number) => http.delete<Pile>(`/piles/${id}/password`)
export const pileConnectionEvents = (id: number, page = 1) =>
  http.get<PileConnectionEventPage>(`/piles/${id}/connection-events`, { page, page_size: 20 })
/** The pile's answer comes back in the body (accepted, rejected, offline, timed out). */
export const sendPileCommand = (id: number, body: PileCommandInput) =>
  http.post<PileCommandAnswer>(`/piles/${id}/commands`, body)
