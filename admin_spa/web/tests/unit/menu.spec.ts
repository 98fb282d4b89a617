import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import type { RouteRecordRaw } from 'vue-router'
import { activeMenuPath, buildMenu, firstAllowedPath, routeAllowed } from '@/router/menu'
import { layoutChildren } from '@/router/routes'

const titles = (perms: string[]) => buildMenu(layoutChildren, perms, '/').map((m) => m.title)
const children = (perms: string[], group: string) =>
  buildMenu(layoutChildren, perms, '/').find((m) => m.title === group)?.children?.map((c) => [c.title, c.path])

const EVERY_READ = [
  'order.read', 'station.read', 'pile.read', 'tariff.read', 'member.read', 'refund.read',
  'certification.read', 'operator.read', 'hlht.read', 'admin_user.read', 'role.read',
  'audit.read', 'settings.customer_service',
]

describe('routeAllowed', () => {
  it('lets routes without a permission through and checks one code or any of several', () => {
    expect(routeAllowed(undefined, [])).toBe(true)
    expect(routeAllowed('station.read', ['station.read'])).toBe(true)
    expect(routeAllowed('station.read', ['station.write'])).toBe(false)
    expect(routeAllowed(['a', 'b'], new Set(['b']))).toBe(true)
    expect(routeAllowed(['a', 'b'], new Set(['c']))).toBe(false)
  })
})

describe('buildMenu', () => {
  it('shows only the pages whose permission /me lists', () => {
    expect(titles(['station.read', 'tariff.read'])).toEqual(['站点', '电价', '营销'])
    expect(titles([])).toEqual([])
  })

  it('shows everything to a holder of every read code, in route order, without hidden routes', () => {
    const all = [
      'order.read', 'station.read', 'pile.read', 'tariff.read', 'member.read', 'operator.read',
      'admin_user.read', 'role.read', 'audit.read',
    ]
    expect(titles(all)).toEqual(['概览', '订单', '站点', '充电桩', '电价', '会员', '财务', '营销', '运维', '设置'])
    expect(children(all, '设置')?.map(([, path]) => path)).toContain('/operators')
    expect(titles(all)).not.toContain('无权访问')
    const orders = buildMenu(layoutChildren, all, '/').find((m) => m.title === '订单')
    expect(orders?.children?.map((c) => c.title)).toEqual(['充电订单', '异常订单'])
    const marketing = buildMenu(layoutChildren, all, '/').find((m) => m.title === '营销')
    expect(marketing?.children?.map((c) => c.title)).toEqual(['优惠券', '充值活动', '会员价'])
  })

  it('shows the orders, the overview and 运维 (电量损耗) with order.read, not with member.read alone', () => {
    expect(titles(['member.read'])).toEqual(['会员', '营销'])
    expect(children(['member.read'], '会员')).toEqual([['会员', '/members']])
    const marketing = (perms: string[]) => buildMenu(layoutChildren, perms, '/').find((m) => m.title === '营销')?.children?.map((c) => c.title)
    expect(marketing(['member.read'])).toEqual(['优惠券', '充值活动'])
    expect(marketing(['tariff.read'])).toEqual(['会员价'])
    expect(titles(['order.read'])).toEqual(['概览', '订单', '财务', '运维'])
    const finance = buildMenu(layoutChildren, ['order.read'], '/').find((m) => m.title === '财务')
    expect(finance?.children?.map((c) => [c.title, c.path])).toEqual([
      ['充值记录', '/finance/topups'],
      ['财务对账', '/finance/statements'],
    ])
  })

  it('groups 会员 and 设置 as the issue lays them out, each page at its old address', () => {
    expect(children(EVERY_READ, '会员')).toEqual([
      ['会员', '/members'],
      ['司机认证', '/certifications'],
      ['退款审核', '/refunds'],
    ])
    expect(children(EVERY_READ, '设置')).toEqual([
      ['客服电话', '/settings/customer-service'],
      ['运营商', '/operators'],
      ['管理员', '/admin-users'],
      ['角色', '/roles'],
      ['审计日志', '/audit-logs'],
      ['推广链接', '/settings/promotion-links'],
      ['互联互通', '/hlht'],
    ])
    expect(titles(EVERY_READ)).toEqual(['概览', '订单', '站点', '充电桩', '电价', '会员', '财务', '营销', '运维', '设置'])
  })

  it('shows a group with one visible entry and hides one with none', () => {
    expect(titles(['refund.read'])).toEqual(['会员'])
    expect(children(['refund.read'], '会员')).toEqual([['退款审核', '/refunds']])
    expect(titles(['audit.read'])).toEqual(['设置'])
    expect(children(['audit.read'], '设置')).toEqual([['审计日志', '/audit-logs']])
    expect(titles(['station.read'])).toEqual(['站点'])
    expect(firstAllowedPath(buildMenu(layoutChildren, ['hlht.read'], '/'))).toBe('/hlht')
  })

  it('highlights the entry of a page, a detail page lighting up its list', () => {
    const menu = buildMenu(layoutChildren, EVERY_READ, '/')
    expect(activeMenuPath(menu, '/members')).toBe('/members')
    expect(activeMenuPath(menu, '/members/12')).toBe('/members')
    expect(activeMenuPath(menu, '/orders/charge/C2026001')).toBe('/orders/charge')
    expect(activeMenuPath(menu, '/settings/customer-service')).toBe('/settings/customer-service')
    expect(activeMenuPath(menu, '/hlht/roaming-orders')).toBe('/hlht')
    expect(activeMenuPath(menu, '/operators')).toBe('/operators')
    expect(activeMenuPath(menu, '/roles-x')).toBe('/roles-x') // a prefix of letters is not a segment
  })

  it('a write code alone does not open a page', () => {
    expect(titles(['operator.write', 'station.write'])).toEqual([])
  })

  it('drops a group whose children are all filtered out and keeps one with a visible child', () => {
    const routes: RouteRecordRaw[] = [
      {
        path: '/sys',
        meta: { title: '系统' },
        children: [
          { path: 'ops', name: 'ops', component: {}, meta: { title: '运营商', permission: 'operator.read' } },
          { path: 'audit', name: 'audit', component: {}, meta: { title: '审计', permission: 'audit.read' } },
        ],
      },
      {
        path: '/biz',
        meta: { title: '业务', permission: 'station.read' },
        children: [{ path: 'st', name: 'st', component: {}, meta: { title: '站点' } }],
      },
    ]
    expect(buildMenu(routes, ['audit.read'])).toEqual([
      { path: '/sys', name: '/sys', title: '系统', icon: undefined, children: [{ path: '/sys/audit', name: 'audit', title: '审计', icon: undefined }] },
    ])
    expect(buildMenu(routes, ['station.write'])).toEqual([])
    expect(firstAllowedPath(buildMenu(routes, ['audit.read', 'station.read']))).toBe('/sys/audit')
  })
})

// Each navigation loads its page's chunk: slow on a busy machine.
describe('router guard', { timeout: 30_000 }, () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
    vi.resetModules()
  })

  async function setup(permissions: string[]) {
    vi.doMock('@/api/auth', () => ({
      fetchMe: vi.fn().mockResolvedValue({
        user: { id: 2, username: 'yc_admin', display_name: '云创管理员' },
        operator: { id: 2, name: '广东云创', kind: 'sub', brand_color: '#00a870', logo_url: null },
        permissions,
      }),
      login: vi.fn(),
      fetchPermissions: vi.fn(),
    }))
    const { createPinia: freshPinia } = await import('pinia')
    const { createAppRouter } = await import('@/router')
    const pinia = freshPinia()
    const router = createAppRouter(pinia)
    return router
  }

  it('sends a visitor without a token to the login page, keeping where they were going', async () => {
    const router = await setup(['station.read'])
    await router.push('/stations')
    expect(router.currentRoute.value.name).toBe('login')
    expect(router.currentRoute.value.query.redirect).toBe('/stations')
  })

  it('blocks a page the permissions do not allow and opens one they do', async () => {
    localStorage.setItem('ev_admin_token', 't')
    const router = await setup(['station.read', 'pile.read'])
    await router.push('/operators')
    expect(router.currentRoute.value.name).toBe('forbidden')
    await router.push('/piles')
    expect(router.currentRoute.value.name).toBe('piles')
  })

  it('resolves every grouped page and hidden detail page at its old address', async () => {
    const router = await setup(EVERY_READ)
    const opened: Record<string, string> = {
      '/members': 'members',
      '/members/7': 'member-detail',
      '/certifications': 'certifications',
      '/refunds': 'refunds',
      '/operators': 'operators',
      '/admin-users': 'admin-users',
      '/roles': 'roles',
      '/audit-logs': 'audit-logs',
      '/hlht': 'hlht-partners',
      '/hlht/customer-orders': 'hlht-customer-orders',
      '/hlht/roaming-orders': 'hlht-roaming-orders',
      '/settings/customer-service': 'customer-service',
      '/settings/promotion-links': 'promotion-links',
    }
    for (const [path, name] of Object.entries(opened)) {
      expect([path, router.resolve(path).name]).toEqual([path, name])
    }
  })

  it('keeps each grouped page behind its own permission', async () => {
    localStorage.setItem('ev_admin_token', 't')
    const router = await setup(['member.read', 'operator.read'])
    await router.push('/members/7')
    expect(router.currentRoute.value.name).toBe('member-detail')
    for (const path of ['/refunds', '/certifications', '/admin-users', '/roles', '/audit-logs', '/hlht/roaming-orders']) {
      await router.push(path)
      expect([path, router.currentRoute.value.name]).toEqual([path, 'forbidden'])
    }
    await router.push('/operators')
    expect(router.currentRoute.value.name).toBe('operators')
  })

  it('sends "/" to the first page the admin may open', async () => {
    localStorage.setItem('ev_admin_token', 't')
    const router = await setup(['tariff.read', 'audit.read'])
    await router.push('/')
    expect(router.currentRoute.value.path).toBe('/tariffs')
  })
})
