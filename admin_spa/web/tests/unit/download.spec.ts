import { afterEach, describe, expect, it, vi } from 'vitest'

const error = vi.fn()
vi.mock('element-plus', () => ({ ElMessage: { error: (m: string) => error(m) } }))

import { download, filenameFrom } from '@/utils/download'

describe('filenameFrom', () => {
  it('reads the RFC 5987 Chinese name before the ASCII fallback', () => {
    const h = `attachment; filename="-20261204.xlsx"; filename*=UTF-8''%E5%85%85%E7%94%B5%E8%AE%A2%E5%8D%95-20261204.xlsx`
    expect(filenameFrom(h, 'x.xlsx')).toBe('充电订单-20261204.xlsx')
  })
  it('uses the plain name, then the fallback', () => {
    expect(filenameFrom('attachment; filename="a.xlsx"', 'x.xlsx')).toBe('a.xlsx')
    expect(filenameFrom(null, 'x.xlsx')).toBe('x.xlsx')
  })
})

describe('download', () => {
  afterEach(() => vi.unstubAllGlobals())
  it('shows the API Chinese message on failure', async () => {
    const body = { error: { code: 'EXPORT_TOO_MANY_ROWS', message: '导出的行数超过上限', details: {} } }
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(body), { status: 422 })))
    await expect(download('/orders/export')).rejects.toMatchObject({ code: 'EXPORT_TOO_MANY_ROWS' })
    expect(error).toHaveBeenCalledWith('导出的行数超过上限')
  })
})
