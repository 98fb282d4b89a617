import { http } from './http'
import type { Operator, OperatorInput, OperatorPage, OperatorPatch, OperatorQuery } from './types'

export const listOperators = (query: OperatorQuery = {}) => http.get<OperatorPage>('/operators', { ...query })
export const getOperator = (id: number) => http.get<Operator>(`/operators/${id}`)
export const createOperator = (body: OperatorInput) => http.post<Operator>('/operators', body)
export const updateOperator = (id: number, body: OperatorPatch) => http.patch<Operator>(`/operators/${id}`, body)

/** Every operator the current admin may see, for selects (the server caps page_size at 100). */
export async function allOperators(): Promise<Operator[]> {
  const first = await listOperators({ page: 1, page_size: 100 })
  const items = [...(first.items ?? [])]
  const pages = Math.ceil(first.total / 100)
  for (let page = 2; page <= pages; page += 1) {
    items.push(...((await listOperators({ page, page_size: 100 })).items ?? []))
  }
  return items
}
