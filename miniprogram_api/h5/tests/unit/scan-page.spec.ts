import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import Vant from 'vant'
import { createMemoryHistory, createRouter } from 'vue-router'
import ScanPage from '@/pages/ScanPage.vue'

function page(ua: string) {
  vi.spyOn(navigator, 'userAgent', 'get').mockReturnValue(ua)
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/scan', name: 'scan', component: ScanPage },
      { path: '/stations', name: 'stations', component: { template: '<div />' } },
      { path: '/orders/:orderNo', name: 'order', component: { template: '<div />' } },
    ],
  })
  return { router, mountIt: async () => {
    await router.push('/scan')
    return mount(ScanPage, { global: { plugins: [Vant, router] } })
  } }
}

describe('ScanPage', () => {
  afterEach(() => vi.restoreAllMocks())

  it('offers the typed-code form only, outside WeChat', async () => {
    const w = await page('Mozilla/5.0 (iPhone) Safari/604.1').mountIt()
    expect(w.find('[data-testid="wx-scan"]').exists()).toBe(false)
    expect(w.find('[data-testid="scan-pile"]').exists()).toBe(true)
  })

  it("offers WeChat's scanner inside WeChat and shows a partner's code without breaking", async () => {
    const w = await page('Mozilla/5.0 (iPhone) MicroMessenger/8.0.50').mountIt()
    expect(w.find('[data-testid="wx-scan"]').exists()).toBe(true)
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      new Response(
        JSON.stringify({
          connector: null, station: null, price: null, service_discount_rate: null,
          balance_fen: 5000, can_start: true, reason: null,
          partner: {
            operator_id: 'MA01H3BQ2', name: '合作充电', connector_id: '3137449320001',
            station_name: '合作站', station_address: '深圳', status: 'free', start_path: '/hlht/orders',
          },
        }),
        { status: 200 },
      ),
    )
    await w.find('[data-testid="scan-pile"] input').setValue('P1')
    await w.find('[data-testid="scan-gun"] input').setValue('1')
    await w.find('form').trigger('submit')
    await flushPromises()
    await new Promise((r) => setTimeout(r, 0))
    await flushPromises()
    expect(w.find('[data-testid="scan-partner"]').text()).toContain('合作充电')
    expect(w.find('[data-testid="scan-result"]').exists()).toBe(false)
  })
})
