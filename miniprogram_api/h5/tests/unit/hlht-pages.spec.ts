// The partner (互联互通) pages: the scan's confirmation card and its start, the live order
// page (estimate marked 预估, the partner's bill once settled, the stop), and my orders'
// partner mark opening the partner page.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import Vant from 'vant'
import { createMemoryHistory, createRouter } from 'vue-router'
import ScanPage from '@/pages/ScanPage.vue'
import HlhtOrderPage from '@/pages/HlhtOrderPage.vue'
import OrdersPage from '@/pages/OrdersPage.vue'

const stub = { template: '<div />' }

function makeRouter() {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/scan', name: 'scan', component: ScanPage },
      { path: '/stations', name: 'stations', component: stub },
      { path: '/me', name: 'me', component: stub },
      { path: '/orders', name: 'orders', component: OrdersPage },
      { path: '/orders/:orderNo', name: 'order', component: stub },
      { path: '/hlht/orders/:orderNo', name: 'hlht-order', component: stub },
    ],
  })
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status })
}

async function settle(): Promise<void> {
  await flushPromises()
  await new Promise((r) => setTimeout(r, 0))
  await flushPromises()
}

const PARTNER_SCAN = {
  connector: null, station: null, price: null, service_discount_rate: null,
  balance_fen: 10000, can_start: true, reason: null,
  partner: {
    operator_id: 'MA01DEMO9', name: '演示互联平台', connector_id: 'DEMO9BA01-1',
    station_name: '演示互联·深圳宝安中心站', station_address: '深圳市宝安区', status: 'free',
    connector_status: 1, power_w: 30000, synced_at: '2026-12-04T12:00:00+00:00',
    price: {
      start: '08:00', end: '22:00', electricity_price: '1.0000', service_price: '0.8000',
      member_service_price: '0.6800', total_price: '1.6800',
    },
    start_path: '/api/mp/v1/hlht/orders',
  },
}

function live(over: Record<string, unknown> = {}) {
  return {
    order_no: 'HC1', state: 'charging', partner_name: '演示互联平台',
    station_name: '演示互联·深圳宝安中心站', connector_code: 'DEMO9BA01-1',
    energy_wh: 1230, energy_kwh: '1.23', amount_fen: 207, elapsed_seconds: 125,
    can_stop: true, hint: null, started_at: '2026-12-04T12:00:00+00:00', stopped_at: null,
    bill: null, ...over,
  }
}

describe('partner scan', () => {
  afterEach(() => vi.restoreAllMocks())

  it('sends a typed hlht:// code as it is, shows the card with the member price, starts with the code', async () => {
    const router = makeRouter()
    await router.push('/scan')
    const fetch = vi.spyOn(globalThis, 'fetch')
      .mockResolvedValueOnce(json(PARTNER_SCAN))
      .mockResolvedValueOnce(json({ order_no: 'HC1', state: 'starting', connector_code: 'DEMO9BA01-1', energy_wh: 0, charged_fen: 0 }, 201))
    const w = mount(ScanPage, { global: { plugins: [Vant, router] } })
    await w.find('[data-testid="scan-pile"] input').setValue('hlht://DEMO9BA01-1.MA01DEMO9/demo')
    await w.find('form').trigger('submit')
    await settle()
    expect(JSON.parse(String(fetch.mock.calls[0][1]?.body))).toEqual({ qr: 'hlht://DEMO9BA01-1.MA01DEMO9/demo' })
    const card = w.find('[data-testid="scan-partner"]')
    expect(card.text()).toContain('互联 · 演示互联平台')
    expect(card.text()).toContain('DEMO9BA01-1')
    expect(w.find('[data-testid="scan-partner-price"]').text()).toContain('1.6800 元/度')
    expect(w.find('[data-testid="scan-partner-member"]').text()).toContain('0.6800')
    await w.find('[data-testid="start-partner"]').trigger('click')
    await settle()
    expect(fetch.mock.calls[1][0]).toBe('/api/mp/v1/hlht/orders')
    expect(JSON.parse(String(fetch.mock.calls[1][1]?.body))).toEqual({ qr: 'hlht://DEMO9BA01-1.MA01DEMO9/demo' })
    expect(router.currentRoute.value.name).toBe('hlht-order')
    expect(router.currentRoute.value.params.orderNo).toBe('HC1')
  })

  it("shows why a start cannot go ahead and a refused start in the API's words", async () => {
    const router = makeRouter()
    await router.push('/scan')
    const blocked = { ...PARTNER_SCAN, can_start: false, reason: { code: 'CONNECTOR_BUSY', message: '充电枪正在使用中' } }
    vi.spyOn(globalThis, 'fetch').mockResolvedValueOnce(json(blocked))
    const w = mount(ScanPage, { global: { plugins: [Vant, router] } })
    await w.find('[data-testid="scan-pile"] input').setValue('hlht://DEMO9BA01-1.MA01DEMO9/demo')
    await w.find('form').trigger('submit')
    await settle()
    expect(w.find('[data-testid="scan-partner-reason"]').text()).toBe('充电枪正在使用中')
    expect(w.find('[data-testid="start-partner"]').attributes('disabled')).toBeDefined()
    expect(w.find('[data-testid="scan-partner-member"]').exists()).toBe(true)

    const ok = mount(ScanPage, { global: { plugins: [Vant, router] } })
    vi.spyOn(globalThis, 'fetch')
      .mockResolvedValueOnce(json(PARTNER_SCAN))
      .mockResolvedValueOnce(json({ error: { code: 'HLHT_AUTH_REFUSED', message: '合作运营商的充电枪暂不可用，请检查是否插好枪或换一台充电桩' } }, 409))
    await ok.find('[data-testid="scan-pile"] input').setValue('hlht://DEMO9BA01-1.MA01DEMO9/demo')
    await ok.find('form').trigger('submit')
    await settle()
    await ok.find('[data-testid="start-partner"]').trigger('click')
    await settle()
    expect(ok.find('[data-testid="scan-partner-error"]').text()).toBe(
      '合作运营商的充电枪暂不可用，请检查是否插好枪或换一台充电桩',
    )
    expect(router.currentRoute.value.name).toBe('scan')
  })
})

async function routerAtMe() {
  const router = makeRouter()
  await router.push('/me')
  return router
}

describe('partner live order page', () => {
  afterEach(() => {
    vi.restoreAllMocks()
    vi.useRealTimers()
  })

  it('marks the running amount 预估, stops, and shows the settled bill', async () => {
    const router = await routerAtMe()
    const fetch = vi.spyOn(globalThis, 'fetch')
      .mockResolvedValueOnce(json(live()))
      .mockResolvedValueOnce(json(live({ state: 'stopping', can_stop: false, hint: '正在停止，等待合作运营商确认' })))
    const w = mount(HlhtOrderPage, { props: { orderNo: 'HC1' }, global: { plugins: [Vant, router] } })
    await settle()
    expect(fetch.mock.calls[0][0]).toBe('/api/mp/v1/hlht/orders/HC1')
    expect(w.find('[data-testid="hlht-state"]').text()).toBe('充电中')
    expect(w.find('[data-testid="hlht-energy"]').text()).toBe('1.230 kWh')
    expect(w.find('[data-testid="hlht-amount"]').text()).toContain('¥2.07')
    expect(w.find('[data-testid="hlht-amount-estimated"]').text()).toBe('预估')
    expect(w.find('[data-testid="hlht-elapsed"]').text()).toBe('00:02:05')
    expect(w.find('[data-testid="hlht-where"]').text()).toContain('互联 · 演示互联平台')
    // the stop (its confirmation dialog answered)
    const vant = await import('vant')
    vi.spyOn(vant, 'showConfirmDialog').mockResolvedValue('confirm')
    await w.find('[data-testid="hlht-stop"]').trigger('click')
    await settle()
    const stopCall = fetch.mock.calls.find((c) => String(c[0]).endsWith('/stop'))
    expect(stopCall?.[1]?.method).toBe('POST')
    expect(w.find('[data-testid="hlht-state"]').text()).toBe('结束中')
    expect(w.find('[data-testid="hlht-stop"]').exists()).toBe(false)
    w.unmount()
  })

  it("shows the partner's bill without 预估 once settled, and marks an estimated bill", async () => {
    const router = await routerAtMe()
    const bill = { estimated: false, energy_wh: 5000, energy_kwh: '5.00', electricity_fen: 500, service_fen: 400, total_fen: 900, settled_at: '2026-12-04T12:30:00+00:00' }
    vi.spyOn(globalThis, 'fetch').mockResolvedValueOnce(
      json(live({ state: 'settled', can_stop: false, amount_fen: 900, energy_wh: 5000, stopped_at: '2026-12-04T12:10:00+00:00', bill })),
    )
    const w = mount(HlhtOrderPage, { props: { orderNo: 'HC1' }, global: { plugins: [Vant, router] } })
    await settle()
    expect(w.find('[data-testid="hlht-state"]').text()).toBe('已结算')
    expect(w.find('[data-testid="hlht-total"]').text()).toContain('¥9.00')
    expect(w.find('[data-testid="hlht-bill"]').text()).toContain('¥5.00')
    expect(w.find('[data-testid="hlht-amount-estimated"]').exists()).toBe(false)
    expect(w.find('[data-testid="hlht-bill-estimated"]').exists()).toBe(false)
    expect(w.find('[data-testid="hlht-elapsed"]').text()).toBe('00:10:00')
    w.unmount()

    vi.spyOn(globalThis, 'fetch').mockResolvedValueOnce(
      json(live({ state: 'settled', can_stop: false, hint: '合作运营商的账单未到，按其价格预估结算；账单到达后多退少补', bill: { ...bill, estimated: true, electricity_fen: null, service_fen: null } })),
    )
    const e = mount(HlhtOrderPage, { props: { orderNo: 'HC1' }, global: { plugins: [Vant, router] } })
    await settle()
    expect(e.find('[data-testid="hlht-bill-estimated"]').text()).toBe('预估')
    expect(e.find('[data-testid="hlht-amount-estimated"]').exists()).toBe(true)
    expect(e.find('[data-testid="hlht-hint"]').text()).toContain('多退少补')
    e.unmount()
  })

  it("shows a refused order in the API's words", async () => {
    const router = await routerAtMe()
    vi.spyOn(globalThis, 'fetch').mockResolvedValueOnce(
      json({ error: { code: 'ORDER_NOT_FOUND', message: '订单不存在' } }, 404),
    )
    const w = mount(HlhtOrderPage, { props: { orderNo: 'NOPE' }, global: { plugins: [Vant, router] } })
    await settle()
    expect(w.find('[data-testid="hlht-error"]').text()).toContain('订单不存在')
    w.unmount()
  })
})

describe('my orders with partner orders', () => {
  afterEach(() => vi.restoreAllMocks())

  it('marks a partner order 互联 · <name> and opens its partner page; ours open the order page', async () => {
    const router = makeRouter()
    await router.push('/orders')
    const row = { state: 'charging', station_name: '站', energy_wh: 1000, energy_kwh: '1.00', total_fen: 150,
      requested_at: '2026-12-04T12:00:00+00:00', started_at: null, stopped_at: null }
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      json({ total: 2, page: 1, page_size: 20, items: [
        { ...row, order_no: 'HC1', partner: { operator_id: 'MA01DEMO9', name: '演示互联平台' } },
        { ...row, order_no: 'O1', partner: null, state: 'settled' },
      ] }),
    )
    const w = mount(OrdersPage, { global: { plugins: [Vant, router] } })
    await settle()
    const rows = w.findAll('[data-testid="order-row"]')
    expect(rows).toHaveLength(2)
    expect(rows[0].find('[data-testid="order-partner"]').text()).toBe('互联 · 演示互联平台')
    expect(rows[0].find('[data-testid="order-estimated"]').exists()).toBe(true)
    expect(rows[1].find('[data-testid="order-partner"]').exists()).toBe(false)
    await rows[0].trigger('click')
    await settle()
    expect(router.currentRoute.value.name).toBe('hlht-order')
    expect(router.currentRoute.value.params.orderNo).toBe('HC1')
    await rows[1].trigger('click')
    await settle()
    expect(router.currentRoute.value.name).toBe('order')
  })
})
