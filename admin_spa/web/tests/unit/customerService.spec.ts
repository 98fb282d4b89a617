import { describe, expect, it } from 'vitest'
import { buildMenu } from '@/router/menu'
import { layoutChildren } from '@/router/routes'
import { describeWindow, inWindow, isClock, shanghaiMinute } from '@/pages/customer-service/phone'

describe('customer-service time windows (case #16)', () => {
  it('describes a day window, a night window across midnight and an all-day one', () => {
    expect(describeWindow('09:00', '21:00')).toBe('09:00–21:00')
    expect(describeWindow('21:00', '09:00')).toBe('21:00–次日 09:00')
    expect(describeWindow('00:00', '24:00')).toBe('00:00–24:00（全天）')
    expect(describeWindow('08:00', '08:00')).toBe('08:00–08:00（全天）')
    expect(describeWindow('9:00', '21:00')).toBe('-')
    expect(isClock('24:00')).toBe(true)
    expect(isClock('24:30')).toBe(false)
  })

  it('answers in the window like the server: [start, end), crossing midnight when start > end', () => {
    expect(inWindow('21:00', '09:00', 21 * 60)).toBe(true)
    expect(inWindow('21:00', '09:00', 3 * 60)).toBe(true)
    expect(inWindow('21:00', '09:00', 9 * 60)).toBe(false)
    expect(inWindow('09:00', '21:00', 9 * 60)).toBe(true)
    expect(inWindow('09:00', '21:00', 21 * 60)).toBe(false)
    expect(inWindow('00:00', '24:00', 23 * 60 + 59)).toBe(true)
  })

  it('reads the minute of the day in Asia/Shanghai whatever the browser zone', () => {
    expect(shanghaiMinute(new Date('2024-01-01T13:30:00Z'))).toBe(21 * 60 + 30) // 21:30 in Shanghai
    expect(shanghaiMinute(new Date('2024-01-01T16:05:00Z'))).toBe(5) // 00:05 the next day
  })
})

describe('the review menu entries', () => {
  const menu = (perms: string[]) => buildMenu(layoutChildren, perms, '/')

  it('shows each page only with its permission, under the titles of the issue', () => {
    const entries = (perms: string[]) => menu(perms).map((m) => [m.title, m.children?.map((c) => [c.title, c.path])])
    expect(entries(['refund.read'])).toEqual([['会员', [['退款审核', '/refunds']]]])
    expect(entries(['certification.read'])).toEqual([['会员', [['司机认证', '/certifications']]]])
    const settings = menu(['settings.customer_service'])
    expect(settings.map((m) => m.title)).toEqual(['设置'])
    expect(settings[0]?.children?.map((c) => [c.title, c.path])).toEqual([['客服电话', '/settings/customer-service']])
    // the review codes alone open no page
    expect(menu(['refund.review', 'certification.review'])).toEqual([])
  })
})
