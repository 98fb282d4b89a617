// WeChat JS-SDK inside WeChat's browser: wx.config with our API's signature for this page's
// address (GET /jssdk-config?url=, signed with the official account's jsapi_ticket), then
// wx.scanQRCode. Outside WeChat the scan page keeps its typed-code form.

import { api } from '@/api/client'
import type { JsSdkConfig } from '@/api/types'

export const JSSDK_URL = 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js'

type Wx = {
  config: (c: JsSdkConfig & { debug: boolean; jsApiList: string[] }) => void
  ready: (fn: () => void) => void
  error: (fn: (e: { errMsg?: string }) => void) => void
  scanQRCode: (o: {
    needResult: 0 | 1
    scanType: string[]
    success: (r: { resultStr?: string }) => void
    fail: (e: { errMsg?: string }) => void
    cancel?: () => void
  }) => void
}

declare global {
  interface Window {
    wx?: Wx
  }
}

export class ScanCancelled extends Error {}

/** WeChat's in-app browser says "MicroMessenger" in its user agent. */
export function isWeChat(ua: string = globalThis.navigator?.userAgent ?? ''): boolean {
  return /MicroMessenger/i.test(ua)
}

/** The address wx.config is signed for: the page's, without its #fragment. */
export function signedUrl(href: string = location.href): string {
  return href.split('#')[0]
}

/** What scanQRCode gives back: a QR code's text as it is; a barcode as "CODE_128,<text>". */
export function scannedText(resultStr: string): string {
  const s = resultStr.trim()
  const comma = s.indexOf(',')
  if (comma > 0 && /^[A-Z_0-9]+$/.test(s.slice(0, comma)) && !s.includes('://')) {
    return s.slice(comma + 1).trim()
  }
  return s
}

let loading: Promise<Wx> | null = null

function loadScript(): Promise<Wx> {
  if (window.wx) return Promise.resolve(window.wx)
  loading ??= new Promise<Wx>((resolve, reject) => {
    const el = document.createElement('script')
    el.src = JSSDK_URL
    el.async = true
    el.onload = () => (window.wx ? resolve(window.wx) : reject(new Error('微信 JS-SDK 加载失败')))
    el.onerror = () => {
      loading = null
      reject(new Error('微信 JS-SDK 加载失败，请手动输入桩编号'))
    }
    document.head.appendChild(el)
  })
  return loading
}

let configured: { url: string; ready: Promise<Wx> } | null = null

/** wx.config for this page once (again when the address changed: the signature is per URL). */
export function readyWx(href: string = location.href): Promise<Wx> {
  const url = signedUrl(href)
  if (configured?.url === url) return configured.ready
  const ready = (async () => {
    const [wx, cfg] = await Promise.all([
      loadScript(),
      api.get<JsSdkConfig>('/jssdk-config', { url }, { toast: false }),
    ])
    return new Promise<Wx>((resolve, reject) => {
      wx.config({ ...cfg, debug: false, jsApiList: ['scanQRCode'] })
      wx.ready(() => resolve(wx))
      wx.error((e) => reject(new Error(`微信 JS-SDK 配置失败：${e.errMsg ?? ''}`)))
    })
  })()
  configured = { url, ready }
  ready.catch(() => {
    if (configured?.ready === ready) configured = null
  })
  return ready
}

/** Opens WeChat's scanner; resolves with the code's text, rejects with ScanCancelled. */
export async function scanWithWeChat(): Promise<string> {
  const wx = await readyWx()
  return new Promise<string>((resolve, reject) => {
    wx.scanQRCode({
      needResult: 1,
      scanType: ['qrCode', 'barCode'],
      success: (r) => resolve(scannedText(r.resultStr ?? '')),
      fail: (e) =>
        /cancel/i.test(e.errMsg ?? '') ? reject(new ScanCancelled()) : reject(new Error(`扫码失败：${e.errMsg ?? ''}`)),
      cancel: () => reject(new ScanCancelled()),
    })
  })
}
