/**
 * The one fetch client of the console: bearer token in, the server's error contract
 * (`{"error": {"code", "message", "details"}}`) out as an ApiError whose message is shown.
 */
import { ElMessage } from 'element-plus'
import { clearToken, getToken } from '@/utils/token'

export const API_BASE: string = import.meta.env.VITE_API_BASE ?? '/api/admin/v1'

export type QueryValue = string | number | boolean | null | undefined | Array<string | number>
export type Query = Record<string, QueryValue>

export interface RequestOptions {
  query?: Query
  body?: unknown
  /** Don't show the error message (the caller shows it its own way). */
  silent?: boolean
  signal?: AbortSignal
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: Record<string, unknown>

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }

  /**
   * Field messages of a validation error, flattened to `{field: "msg"}`.
   * Accepts `{"json": {"name": ["msg"]}}` (webargs/flask-smorest), `{"name": ["msg"]}`
   * and `{"fields": {...}}`; nested fields become dotted paths (`segments.2.start`).
   */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {}
    const walk = (value: unknown, path: string): void => {
      if (typeof value === 'string') {
        if (path && !(path in out)) out[path] = value
      } else if (Array.isArray(value)) {
        if (value.every((v) => typeof v === 'string')) {
          if (path && value.length && !(path in out)) out[path] = value.join('；')
        } else {
          value.forEach((v, i) => walk(v, path ? `${path}.${i}` : String(i)))
        }
      } else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          walk(v, path ? `${path}.${k}` : k)
        }
      }
    }
    const d = this.details
    const root = (d.json ?? d.fields ?? d.query ?? d.form ?? d) as unknown
    walk(root, '')
    return out
  }
}

type UnauthorizedHandler = () => void

let onUnauthorized: UnauthorizedHandler = () => {
  window.location.assign(`${import.meta.env.BASE_URL}login`)
}

/** The router installs its own handler (go to /login keeping the current path). */
export function setUnauthorizedHandler(handler: UnauthorizedHandler): void {
  onUnauthorized = handler
}

export function buildUrl(path: string, query?: Query): string {
  const url = `${API_BASE}${path}`
  if (!query) return url
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)))
    else params.append(key, String(value))
  }
  const qs = params.toString()
  return qs ? `${url}?${qs}` : url
}

export async function parseError(res: Response): Promise<ApiError> {
  let payload: unknown = null
  try {
    payload = await res.json()
  } catch {
    payload = null
  }
  const err = (payload as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)
    ?.error
  if (err && typeof err === 'object') {
    return new ApiError(
      res.status,
      typeof err.code === 'string' ? err.code : `HTTP_${res.status}`,
      typeof err.message === 'string' && err.message ? err.message : `请求失败（${res.status}）`,
      err.details && typeof err.details === 'object' ? (err.details as Record<string, unknown>) : {},
    )
  }
  return new ApiError(res.status, `HTTP_${res.status}`, `请求失败（${res.status}）`)
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  const token = getToken()
  if (token) headers.Authorization = `Bearer ${token}`
  let body: BodyInit | undefined
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }

  let res: Response
  try {
    res = await fetch(buildUrl(path, opts.query), { method, headers, body, signal: opts.signal })
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause
    const error = new ApiError(0, 'NETWORK_ERROR', '网络连接失败，请检查网络后重试')
    if (!opts.silent) ElMessage.error(error.message)
    throw error
  }

  if (!res.ok) {
    const error = await parseError(res)
    if (res.status === 401 && token) {
      // The session ended (expired or revoked): forget it and log in again.
      clearToken()
      ElMessage.error(error.message || '登录已失效，请重新登录')
      onUnauthorized()
    } else if (!opts.silent) {
      ElMessage.error(error.message)
    }
    throw error
  }

  if (res.status === 204) return undefined as T
  const text = await res.text()
  return (text ? JSON.parse(text) : undefined) as T
}

/**
 * A file the API serves behind the bearer token (an <img src> cannot send it): fetched here
 * as a Blob, errors as the same ApiError. Show it with URL.createObjectURL and revoke it after.
 */
export async function requestBlob(path: string, opts: Omit<RequestOptions, 'body'> = {}): Promise<Blob> {
  const headers: Record<string, string> = {}
  const token = getToken()
  if (token) headers.Authorization = `Bearer ${token}`
  let res: Response
  try {
    res = await fetch(buildUrl(path, opts.query), { method: 'GET', headers, signal: opts.signal })
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause
    const error = new ApiError(0, 'NETWORK_ERROR', '网络连接失败，请检查网络后重试')
    if (!opts.silent) ElMessage.error(error.message)
    throw error
  }
  if (!res.ok) {
    const error = await parseError(res)
    if (res.status === 401 && token) {
      clearToken()
      ElMessage.error(error.message || '登录已失效，请重新登录')
      onUnauthorized()
    } else if (!opts.silent) {
      ElMessage.error(error.message)
    }
    throw error
  }
  return res.blob()
}

export const http = {
  get: <T>(path: string, query?: Query, opts: Omit<RequestOptions, 'query'> = {}) =>
    request<T>('GET', path, { ...opts, query }),
  post: <T>(path: string, body?: unknown, opts: RequestOptions = {}) =>
    request<T>('POST', path, { ...opts, body }),
  put: <T>(path: string, body?: unknown, opts: RequestOptions = {}) =>
    request<T>('PUT', path, { ...opts, body }),
  patch: <T>(path: string, body?: unknown, opts: RequestOptions = {}) =>
    request<T>('PATCH', path, { ...opts, body }),
  delete: <T = void>(path: string, opts: RequestOptions = {}) => request<T>('DELETE', path, opts),
}
