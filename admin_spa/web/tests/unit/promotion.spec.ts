import { describe, expect, it, vi } from 'vitest'
import { buildMenu } from '@/router/menu'
import { layoutChildren } from '@/router/routes'
import { copyText, groupGrantText, menuJsonText, newRequestId } from '@/utils/promotion'

describe('推广链接 helpers (case #3)', () => {
  it('prints the menu JSON indented with its Chinese names, and nothing without a menu', () => {
    const menu = { button: [{ type: 'miniprogram', name: '扫码充电', appid: 'wx1', pagepath: 'pages/scan/index' }] }
    const text = menuJsonText(menu)
    expect(text).toContain('"name": "扫码充电"')
    expect(text.split('\n').length).toBeGreaterThan(3)
    expect(JSON.parse(text)).toEqual(menu)
    expect(menuJsonText(null)).toBe('')
  })

  it('copies through the Clipboard API, and through a textarea where there is none', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined)
    vi.stubGlobal('navigator', { clipboard: { writeText } })
    expect(await copyText('https://x/h5/scan')).toBe(true)
    expect(writeText).toHaveBeenCalledWith('https://x/h5/scan')
    vi.stubGlobal('navigator', {})
    const exec = vi.fn().mockReturnValue(true)
    Object.defineProperty(document, 'execCommand', { value: exec, configurable: true })
    expect(await copyText('menu')).toBe(true)
    expect(exec).toHaveBeenCalledWith('copy')
    expect(document.querySelectorAll('textarea').length).toBe(0) // cleaned up
    vi.unstubAllGlobals()
  })

  it('shows 推广链接 under 设置 only with operator.read (beside 运营商, which the same code opens)', () => {
    const menu = buildMenu(layoutChildren, ['operator.read'], '/')
    const settings = menu.find((m) => m.title === '设置')
    expect(settings?.children?.map((c) => [c.title, c.path])).toEqual([
      ['运营商', '/operators'],
      ['推广链接', '/settings/promotion-links'],
    ])
    expect(buildMenu(layoutChildren, ['member.read'], '/').find((m) => m.title === '设置')).toBeUndefined()
  })
})

describe('group grants', () => {
  it('makes request ids the server accepts, different each time', () => {
    const a = newRequestId()
    const b = newRequestId()
    expect(a).toMatch(/^[0-9A-Za-z_-]{8,64}$/)
    expect(a).not.toBe(b)
    expect(newRequestId(() => 0, () => 0)).toBe('g-0-000000000000')
  })

  it('says how many members got one, who was skipped, and a repeat', () => {
    expect(groupGrantText({ granted: 3, skipped: 0, repeated: false })).toBe('已发放：3 位会员各 1 张')
    expect(groupGrantText({ granted: 1, skipped: 2 })).toBe('已发放：1 位会员各 1 张，2 位会员已达每人限领数未发放')
    expect(groupGrantText({ granted: 3, repeated: true })).toBe('该请求已发放过，未重复发放：3 位会员各 1 张')
  })
})
