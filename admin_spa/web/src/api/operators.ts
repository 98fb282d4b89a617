import { http } from './http'
import type { Operator, OperatorInput, OperatorPage, OperatorPatch, OperatorQuery, WeChatAnswer } from './types'

export const listOperators = (query: OperatorQuery = {}) => http.get<OperatorPage>('/operators', { ...query })
export const getOperator = (id: number) => http.get<Operator>(`/operators/${id}`)
export const createOperator = (body: OperatorInput) => http.post<Operator>('/operators', body)
export const updateOperator = (id: number, body: OperatorPatch) => http.patch<Operator>(`/operators/${id}`, body)
/** Download WeChat Pay's platform certificates now; WeChat's answer is reported. */
export const refreshPlatformKeys = (id: number) => http.post<WeChatAnswer>(`/operators/${id}/wechat-pay/platform-keys`)
/** A signed request to WeChat Pay: proves the merchant key, the merchant and the platform key. */
export const testWeChatPay = (id: number) => http.post<WeChatAnswer>(`/operators/${id}/wechat-pay/test`)

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
