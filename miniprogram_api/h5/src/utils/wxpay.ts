// WeChat JSAPI pay inside WeChat's browser: WeixinJSBridge getBrandWCPayRequest with the
// wx.requestPayment arguments our API signed (POST /topups). Outside WeChat there is no bridge.

import type { RequestPayment } from '@/api/types'

type Bridge = {
  invoke: (name: string, args: Record<string, string>, done: (res: { err_msg?: string }) => void) => void
}

function bridge(): Bridge | undefined {
  return (globalThis as { WeixinJSBridge?: Bridge }).WeixinJSBridge
}

export function hasWeChatBridge(): boolean {
  return bridge() !== undefined
}

export type PayOutcome = 'ok' | 'cancel' | 'fail'

/** err_msg "get_brand_wcpay_request:ok" | ":cancel" | ":fail …" */
export function payOutcome(errMsg: string | undefined): PayOutcome {
  const tail = (errMsg ?? '').split(':')[1] ?? ''
  if (tail.startsWith('ok')) return 'ok'
  if (tail.startsWith('cancel')) return 'cancel'
  return 'fail'
}

function whenBridgeReady(timeoutMs: number): Promise<Bridge | undefined> {
  const now = bridge()
  if (now || typeof document === 'undefined') return Promise.resolve(now)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(bridge()), timeoutMs)
    document.addEventListener(
      'WeixinJSBridgeReady',
      () => {
        clearTimeout(timer)
        resolve(bridge())
      },
      { once: true },
    )
  })
}

/** WeChat's cashier for a signed prepay; 'fail' too when there is no bridge at all. */
export async function payInWeChat(p: RequestPayment, timeoutMs = 3000): Promise<PayOutcome> {
  const b = await whenBridgeReady(timeoutMs)
  if (!b) return 'fail'
  return new Promise((resolve) => {
    b.invoke('getBrandWCPayRequest', { ...p }, (res) => resolve(payOutcome(res.err_msg)))
  })
}
