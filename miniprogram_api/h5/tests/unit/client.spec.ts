import { beforeEach, describe, expect, it, vi } from 'vitest'
import {
  ApiError,
  NETWORK_MESSAGE,
  UNKNOWN_MESSAGE,
  api,
  configureClient,
  getToken,
  setToken,
} from '@/api/client'

function reply(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

describe('api client', () => {
  const notify = vi.fn()
  const unauthorized = vi.fn()
  beforeEach(() => {
    localStorage.clear()
    notify.mockReset()
    unauthorized.mockReset()
    configureClient({ notify, unauthorized })
  })

  it('sends the stored token as Bearer', async () => {
    setToken('tok-1')
    const fetchMock = vi.spyOn(globalThis, 'fetch').mockResolvedValue(reply(200, { ok: 1 }))
    await expect(api.get('/me', { lat: 22.5, skip: undefined })).resolves.toEqual({ ok: 1 })
    const [url, init] = fetchMock.mock.calls[0]
    expect(url).toBe('/api/mp/v1/me?lat=22.5')
    expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer tok-1')
  })

  it('sends no Authorization header without a token', async () => {
    const fetchMock = vi.spyOn(globalThis, 'fetch').mockResolvedValue(reply(200, {}))
    await api.post('/auth/oa-login', { code: 'c' })
    const init = fetchMock.mock.calls[0][1]
    expect((init?.headers as Record<string, string>).Authorization).toBeUndefined()
    expect(init?.body).toBe('{"code":"c"}')
  })

  it("turns an error into the API's Chinese message and toasts it", async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      reply(409, { error: { code: 'CONNECTOR_BUSY', message: '该枪正在使用中' } }),
    )
    const err = await api.post('/scan', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).code).toBe('CONNECTOR_BUSY')
    expect((err as ApiError).message).toBe('该枪正在使用中')
    expect(notify).toHaveBeenCalledWith('该枪正在使用中')
    expect(unauthorized).not.toHaveBeenCalled()
  })

  it('does not toast when the caller asks not to', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      reply(404, { error: { code: 'NOT_FOUND', message: '不存在' } }),
    )
    await expect(api.get('/x', undefined, { toast: false })).rejects.toThrow('不存在')
    expect(notify).not.toHaveBeenCalled()
  })

  it('a 401 forgets the token and goes to the login page', async () => {
    setToken('old')
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      reply(401, { error: { code: 'TOKEN_REVOKED', message: '登录已失效，请重新登录' } }),
    )
    await expect(api.get('/me')).rejects.toThrow('登录已失效，请重新登录')
    expect(getToken()).toBeNull()
    expect(unauthorized).toHaveBeenCalledOnce()
  })

  it('a body without the error contract gives a generic Chinese message', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response('<html>502</html>', { status: 502 }))
    const err = (await api.get('/me').catch((e: unknown) => e)) as ApiError
    expect(err.status).toBe(502)
    expect(err.message).toBe(UNKNOWN_MESSAGE)
    expect(notify).toHaveBeenCalledWith(UNKNOWN_MESSAGE)
  })

  it('a network failure gives the network message', async () => {
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('Failed to fetch'))
    const err = (await api.get('/me').catch((e: unknown) => e)) as ApiError
    expect(err.code).toBe('NETWORK')
    expect(err.message).toBe(NETWORK_MESSAGE)
  })

  it('a 204 resolves to undefined', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(null, { status: 204 }))
    await expect(api.post('/auth/logout')).resolves.toBeUndefined()
  })
})
