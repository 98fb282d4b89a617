import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RequestPayment } from '@/api/types'
import { hasWeChatBridge, payInWeChat, payOutcome } from '@/utils/wxpay'

const PAYMENT: RequestPayment = {
  appId: 'wxoa', timeStamp: '1', nonceStr: 'n', package: 'prepay_id=wx1', signType: 'RSA', paySign: 's',
} // prettier-ignore

function withBridge(bridge: unknown): void {
  Object.defineProperty(globalThis, 'WeixinJSBridge', { value: bridge, configurable: true, writable: true })
}

describe('WeChat JSAPI pay', () => {
  afterEach(() => {
    delete (globalThis as { WeixinJSBridge?: unknown }).WeixinJSBridge
  })

  it("reads the cashier's answer", () => {
    expect(payOutcome('get_brand_wcpay_request:ok')).toBe('ok')
    expect(payOutcome('get_brand_wcpay_request:cancel')).toBe('cancel')
    expect(payOutcome('get_brand_wcpay_request:fail_no_permission')).toBe('fail')
    expect(payOutcome(undefined)).toBe('fail')
  })

  it('hands the signed arguments to getBrandWCPayRequest', async () => {
    const invoke = vi.fn((_n: string, _a: unknown, done: (r: { err_msg: string }) => void) =>
      done({ err_msg: 'get_brand_wcpay_request:ok' }),
    )
    withBridge({ invoke })
    expect(hasWeChatBridge()).toBe(true)
    await expect(payInWeChat(PAYMENT)).resolves.toBe('ok')
    expect(invoke).toHaveBeenCalledWith('getBrandWCPayRequest', PAYMENT, expect.any(Function))
  })

  it('waits for WeixinJSBridgeReady, and fails without a bridge', async () => {
    expect(hasWeChatBridge()).toBe(false)
    await expect(payInWeChat(PAYMENT, 10)).resolves.toBe('fail')
    const pending = payInWeChat(PAYMENT, 1000)
    withBridge({ invoke: (_n: string, _a: unknown, done: (r: { err_msg: string }) => void) => done({ err_msg: 'get_brand_wcpay_request:cancel' }) })
    document.dispatchEvent(new Event('WeixinJSBridgeReady'))
    await expect(pending).resolves.toBe('cancel')
  })
})
