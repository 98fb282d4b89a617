import { beforeEach, describe, expect, it, vi } from 'vitest'

const messageError = vi.fn()
vi.mock('element-plus', () => ({ ElMessage: { error: messageError, success: vi.fn() } }))

const { ApiError, http, request, setUnauthorizedHandler, buildUrl } = await import('@/api/http')
const { getToken, setToken } = await import('@/utils/token')

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

const fetchMock = vi.fn<typeof fetch>()

beforeEach(() => {
  localStorage.clear()
  messageError.mockReset()
  fetchMock.mockReset()
  vi.stubGlobal('fetch', fetchMock)
})

describe('http client', () => {
  it('sends the bearer token and JSON body, and returns the parsed body', async () => {
    setToken('tok-123')
    fetchMock.mockResolvedValue(jsonResponse(201, { id: 7, name: '站' }))
    const out = await http.post<{ id: number }>('/stations', { name: '站' })
    expect(out).toEqual({ id: 7, name: '站' })
    const [url, init] = fetchMock.mock.calls[0]!
    expect(url).toBe('/api/admin/v1/stations')
    expect(init?.method).toBe('POST')
    const headers = init?.headers as Record<string, string>
    expect(headers.Authorization).toBe('Bearer tok-123')
    expect(headers['Content-Type']).toBe('application/json')
    expect(JSON.parse(String(init?.body))).toEqual({ name: '站' })
  })

  it('puts paging and filters in the query string, skipping empty ones', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { items: [], total: 0, page: 2 }))
    await http.get('/stations', { page: 2, page_size: 20, q: '南山', operator_id: undefined, city: '' })
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/admin/v1/stations?page=2&page_size=20&q=%E5%8D%97%E5%B1%B1')
    expect(buildUrl('/x', { ids: [1, 2] })).toBe('/api/admin/v1/x?ids=1&ids=2')
  })

  it('turns the error contract into an ApiError and shows its message', async () => {
    setToken('tok')
    fetchMock.mockResolvedValue(
      jsonResponse(422, {
        error: {
          code: 'TARIFF_SEGMENTS_GAP',
          message: '时段之间有空档：10:00-10:30',
          details: { index: 2 },
        },
      }),
    )
    const err = await http.put('/tariffs/1/segments', { segments: [] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 422, code: 'TARIFF_SEGMENTS_GAP', message: '时段之间有空档：10:00-10:30', details: { index: 2 } })
    expect(messageError).toHaveBeenCalledWith('时段之间有空档：10:00-10:30')
    expect(getToken()).toBe('tok')
  })

  it('flattens validation details into field messages', async () => {
    fetchMock.mockResolvedValue(
      jsonResponse(422, {
        error: {
          code: 'VALIDATION_ERROR',
          message: '提交的数据不正确',
          details: { json: { name: ['不能为空'], segments: { '1': { start: ['格式错误'] } } } },
        },
      }),
    )
    const err = (await http.post('/stations', {}).catch((e: unknown) => e)) as InstanceType<typeof ApiError>
    expect(err.fieldErrors()).toEqual({ name: '不能为空', 'segments.1.start': '格式错误' })
  })

  it('on 401 with a token: forgets the token and goes to login', async () => {
    setToken('expired')
    const onUnauthorized = vi.fn()
    setUnauthorizedHandler(onUnauthorized)
    fetchMock.mockResolvedValue(jsonResponse(401, { error: { code: 'AUTH_REQUIRED', message: '请先登录', details: {} } }))
    await expect(http.get('/me')).rejects.toMatchObject({ status: 401, code: 'AUTH_REQUIRED' })
    expect(getToken()).toBeNull()
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
    expect(messageError).toHaveBeenCalledWith('请先登录')
  })

  it('on 401 from the login form (no token): shows the message, no redirect', async () => {
    const onUnauthorized = vi.fn()
    setUnauthorizedHandler(onUnauthorized)
    fetchMock.mockResolvedValue(
      jsonResponse(401, { error: { code: 'AUTH_INVALID_CREDENTIALS', message: '用户名或密码错误', details: {} } }),
    )
    await expect(http.post('/auth/login', { username: 'a', password: 'b' })).rejects.toMatchObject({
      code: 'AUTH_INVALID_CREDENTIALS',
    })
    expect(onUnauthorized).not.toHaveBeenCalled()
    expect(messageError).toHaveBeenCalledWith('用户名或密码错误')
  })

  it('copes with a body that is not the contract (a proxy error page)', async () => {
    fetchMock.mockResolvedValue(new Response('<html>Bad Gateway</html>', { status: 502 }))
    await expect(http.get('/stations')).rejects.toMatchObject({ status: 502, code: 'HTTP_502', message: '请求失败（502）' })
    expect(messageError).toHaveBeenCalledWith('请求失败（502）')
  })

  it('reports a network failure, and stays quiet when asked to', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'))
    await expect(request('GET', '/stations', { silent: true })).rejects.toMatchObject({ code: 'NETWORK_ERROR' })
    expect(messageError).not.toHaveBeenCalled()
    await expect(http.get('/stations')).rejects.toMatchObject({ code: 'NETWORK_ERROR' })
    expect(messageError).toHaveBeenCalledTimes(1)
  })

  it('returns undefined for 204 No Content', async () => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }))
    await expect(http.delete('/stations/1')).resolves.toBeUndefined()
  })
})

describe('requestBlob', () => {
  it('fetches a file with the bearer token and returns it as a Blob', async () => {
    const { requestBlob } = await import('@/api/http')
    setToken('tok-img')
    fetchMock.mockResolvedValue(new Response(new Blob([new Uint8Array([0x89, 0x50])], { type: 'image/png' }), { status: 200 }))
    const blob = await requestBlob('/certifications/1/files/2')
    expect(blob.size).toBe(2)
    const [url, init] = fetchMock.mock.calls[0]!
    expect(url).toBe('/api/admin/v1/certifications/1/files/2')
    expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer tok-img')
  })

  it('turns the error contract into an ApiError with the Chinese message', async () => {
    const { requestBlob } = await import('@/api/http')
    fetchMock.mockResolvedValue(
      jsonResponse(404, { error: { code: 'CERTIFICATION_NOT_FOUND', message: '认证申请不存在', details: {} } }),
    )
    const err = await requestBlob('/certifications/1/files/9').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as InstanceType<typeof ApiError>).message).toBe('认证申请不存在')
    expect(messageError).toHaveBeenCalledWith('认证申请不存在')
  })
})
