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

type Timed = {
  state: string
  elapsed_seconds: number
  started_at?: string | null
  stopped_at?: string | null
}

const ENDED_STATES = ['finished', 'settled', 'abnormal']

/** The seconds an order page shows: a running order's live elapsed_seconds; an ended
 * (finished/settled) order's started→stopped duration from its own timestamps, so a settled
 * order never shows 00:00:00 when the poll's running figure is gone (issue 13). */
export function orderElapsedSeconds(o: Timed): number {
  if (ENDED_STATES.includes(o.state) && o.started_at && o.stopped_at) {
    const ms = Date.parse(o.stopped_at) - Date.parse(o.started_at)
    if (Number.isFinite(ms) && ms > 0) return Math.trunc(ms / 1000)
  }
  return Math.max(0, Math.trunc(o.elapsed_seconds || 0))
}
