/** 3725 s → "01:02:05" */
export function formatElapsed(seconds: number): string {
  const s = Math.max(0, Math.trunc(seconds))
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(Math.trunc(s / 3600))}:${pad(Math.trunc((s % 3600) / 60))}:${pad(s % 60)}`
}

/** a client_request_id for POST /orders: 8~40 of [A-Za-z0-9_-], new for each start tap */
export function requestId(): string {
  const c = globalThis.crypto
  if (c?.randomUUID) return c.randomUUID().replace(/-/g, '')
  return `h5${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`
}
