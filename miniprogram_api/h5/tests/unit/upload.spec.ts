import { afterEach, describe, expect, it, vi } from 'vitest'
import { api, setToken } from '@/api/client'

describe('api.upload', () => {
  afterEach(() => vi.restoreAllMocks())

  it('posts the form as multipart: no JSON content type, the token as Bearer', async () => {
    setToken('tok-up')
    const fetchMock = vi
      .spyOn(globalThis, 'fetch')
      .mockResolvedValue(new Response(JSON.stringify({ id: 3 }), { status: 201 }))
    const form = new FormData()
    form.set('kind', 'taxi')
    await expect(api.upload('/certifications', form)).resolves.toEqual({ id: 3 })
    const [url, init] = fetchMock.mock.calls[0]
    expect(url).toBe('/api/mp/v1/certifications')
    expect(init?.method).toBe('POST')
    expect(init?.body).toBe(form)
    const headers = init?.headers as Record<string, string>
    expect(headers['Content-Type']).toBeUndefined()
    expect(headers.Authorization).toBe('Bearer tok-up')
  })
})
