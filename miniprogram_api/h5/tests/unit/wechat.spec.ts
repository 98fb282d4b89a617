import { afterEach, describe, expect, it, vi } from 'vitest'
import { setToken } from '@/api/client'
import { isWeChat, readyWx, scannedText, signedUrl } from '@/utils/wechat'

describe('wechat helpers', () => {
  afterEach(() => {
    vi.restoreAllMocks()
    delete window.wx
  })

  it("knows WeChat's browser by its user agent", () => {
    expect(isWeChat('Mozilla/5.0 (iPhone) AppleWebKit MicroMessenger/8.0.50 NetType/WIFI')).toBe(true)
    expect(isWeChat('Mozilla/5.0 (iPhone) Safari/604.1')).toBe(false)
  })

  it('signs the address without its fragment', () => {
    expect(signedUrl('https://ev.example.com/h5/scan?x=1#top')).toBe('https://ev.example.com/h5/scan?x=1')
  })

  it("keeps a QR code's text and strips a barcode's type", () => {
    expect(scannedText('https://ev.example.com/q/DEMO-OCPP-01-1')).toBe('https://ev.example.com/q/DEMO-OCPP-01-1')
    expect(scannedText('hlht://313744932,MA01H3BQ2/0001')).toBe('hlht://313744932,MA01H3BQ2/0001')
    expect(scannedText('CODE_128,55031412782305-1')).toBe('55031412782305-1')
  })

  it("configures wx with our API's signature for this page, for scanQRCode", async () => {
    setToken('tok')
    const config = vi.fn()
    window.wx = {
      config,
      ready: (fn) => fn(),
      error: () => {},
      scanQRCode: () => {},
    }
    const signed = { appId: 'wxoa', timestamp: 1700000000, nonceStr: 'n1', signature: 'abc' }
    const fetchMock = vi
      .spyOn(globalThis, 'fetch')
      .mockResolvedValue(new Response(JSON.stringify(signed), { status: 200 }))
    await readyWx('https://ev.example.com/h5/scan#x')
    expect(String(fetchMock.mock.calls[0][0])).toBe(
      '/api/mp/v1/jssdk-config?url=https%3A%2F%2Fev.example.com%2Fh5%2Fscan',
    )
    expect(config).toHaveBeenCalledWith({ ...signed, debug: false, jsApiList: ['scanQRCode'] })
  })
})
