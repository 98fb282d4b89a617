import { http } from './http'
import type { StatementMismatchList, StatementRun, StatementRunPage } from './types'

export const statementRuns = (query: {
  date_from?: string
  date_to?: string
  state?: string
  page?: number
  page_size?: number
}) => http.get<StatementRunPage>('/statements/runs', { ...query })
export const runStatement = (body: { bill_date: string; operator_id?: number }) =>
  http.post<StatementRun>('/statements/runs', body)
export const statementMismatches = (runId: number) =>
  http.get<StatementMismatchList>(`/statements/runs/${runId}/mismatches`)
