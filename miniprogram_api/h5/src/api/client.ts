// The drivers' API client (/api/mp/v1): keeps the driver's token, sends it as Bearer, and
// turns every failure into an ApiError carrying the API's Chinese error.message, which is
// shown in a Vant toast. A 401 forgets the token and sends the driver to the login page.

export const API_BASE = import.meta.env.VITE_API_BASE ?? '/api/mp/v1'
const API_PREFIX = '/api/mp/v1'

/** a path the API gives in full (e.g. the partner scan's start_path) as request() takes it */
export function apiPath(path: string): string {
  return path.startsWith(API_PREFIX + '/') ? path.slice(API_PREFIX.length) : path
}
const TOKEN_KEY = 'evop.h5.token'

export const NETWORK_MESSAGE = '网络异常，请稍后重试'
export const UNKNOWN_MESSAGE = '服务暂时不可用，请稍后重试'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token)
  else localStorage.removeItem(TOKEN_KEY)
}

type Hooks = {
  /** shows a message to the driver (a Vant toast in the app) */
  notify: (message: string) => void
  /** a 401: the token is gone; the app routes to the login page */
  unauthorized: () => void
}

const hooks: Hooks = { notify: () => {}, unauthorized: () => {} }

export function configureClient(h: Partial<Hooks>): void {
  Object.assign(hooks, h)
}

export type RequestOptions = {
  method?: string
  query?: Record<string, string | number | boolean | null | undefined>
  body?: unknown
  /** a multipart body (file uploads): sent as it is, the browser sets its boundary */
  form?: FormData
  /** false: the caller shows the error itself (no toast) */
  toast?: boolean
}

function url(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  }
  const qs = params.toString()
  return `${API_BASE}${path}${qs ? `?${qs}` : ''}`
}

async function toError(resp: Response): Promise<ApiError> {
  let payload: unknown = null
  try {
    payload = await resp.json()
  } catch {
    payload = null
  }
  const err = (payload as { error?: { code?: unknown; message?: unknown; details?: unknown } })
    ?.error
  if (err && typeof err.message === 'string' && err.message) {
    return new ApiError(resp.status, String(err.code ?? 'ERROR'), err.message, err.details)
  }
  return new ApiError(resp.status, 'HTTP_' + resp.status, UNKNOWN_MESSAGE)
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  const token = getToken()
  if (token) headers.Authorization = `Bearer ${token}`
  let body: string | FormData | undefined
  if (opts.form !== undefined) {
    body = opts.form
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  let resp: Response
  try {
    resp = await fetch(url(path, opts.query), { method: opts.method ?? 'GET', headers, body })
  } catch {
    const e = new ApiError(0, 'NETWORK', NETWORK_MESSAGE)
    if (opts.toast !== false) hooks.notify(e.message)
    throw e
  }
  if (resp.ok) {
    if (resp.status === 204) return undefined as T
    return (await resp.json()) as T
  }
  const e = await toError(resp)
  if (resp.status === 401) {
    setToken(null)
    hooks.unauthorized()
  }
  if (opts.toast !== false) hooks.notify(e.message)
  throw e
}

export const api = {
  get: <T>(path: string, query?: RequestOptions['query'], opts: RequestOptions = {}) =>
    request<T>(path, { ...opts, query }),
  post: <T>(path: string, body?: unknown, opts: RequestOptions = {}) =>
    request<T>(path, { ...opts, method: 'POST', body: body ?? {} }),
  put: <T>(path: string, body?: unknown, opts: RequestOptions = {}) =>
    request<T>(path, { ...opts, method: 'PUT', body: body ?? {} }),
  upload: <T>(path: string, form: FormData, opts: RequestOptions = {}) =>
    request<T>(path, { ...opts, method: 'POST', form }),
}
