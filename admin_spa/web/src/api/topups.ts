/** 财务 → 充值记录: the drivers' WeChat Pay top-ups of the operator, paged, and their export. */
import { http } from './http'
import type { components, paths } from './schema'

type Schemas = components['schemas']

export type TopUp = Schemas['TopUpOut']
export type TopUpPage = Schemas['TopUpPage']
export type TopUpQuery = NonNullable<paths['/api/admin/v1/topups']['get']['parameters']['query']>

export const listTopups = (query: TopUpQuery = {}) => http.get<TopUpPage>('/topups', { ...query })
