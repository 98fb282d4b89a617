import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import Vant from 'vant'
import { createMemoryHistory, createRouter } from 'vue-router'
import PasswordPage from '@/pages/PasswordPage.vue'
import { copyText } from '@/utils/clipboard'

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status })
}

const mounted: { unmount: () => void }[] = []

async function mountPage() {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/password', name: 'password', component: PasswordPage },
      { path: '/me', name: 'me', component: { template: '<div />' } },
    ],
  })
  await router.push('/password')
  const w = mount(PasswordPage, { global: { plugins: [Vant, router] }, attachTo: document.body })
  mounted.push(w)
  await flushPromises()
  return w
}

describe('PasswordPage', () => {
  beforeEach(() => localStorage.setItem('evop.h5.token', 'tok'))
  afterEach(() => {
    mounted.splice(0).forEach((w) => w.unmount())
    vi.restoreAllMocks()
    document.body.innerHTML = ''
  })

  it('offers a first password, shows its digits once with a copy button and a warning', async () => {
    const fetch = vi.spyOn(globalThis, 'fetch')
    fetch.mockResolvedValueOnce(json({ has_password: false, issued_at: null, password: null }))
    const w = await mountPage()
    expect(w.find('[data-testid="password-state"]').text()).toContain('未设置')
    expect(w.find('[data-testid="password-shown"]').exists()).toBe(false)

    fetch.mockResolvedValueOnce(
      json({ has_password: true, issued_at: '2026-12-04T10:00:05+00:00', password: '04817263' }),
    )
    await w.find('[data-testid="password-reset"]').trigger('click')
    await flushPromises()
    const [url, init] = fetch.mock.calls[1]
    expect(String(url)).toMatch(/\/charging-password\/reset$/)
    expect((init as RequestInit).method).toBe('POST')
    expect(w.find('[data-testid="password-digits"]').text()).toBe('04817263')
    expect(w.find('[data-testid="password-warning"]').text()).toContain('无法再次查看')
    expect(w.find('[data-testid="password-copy"]').exists()).toBe(true)
    expect(w.find('[data-testid="password-state"]').text()).toContain('已设置')
    expect(w.find('[data-testid="password-issued"]').exists()).toBe(true)
  })

  it('shows an existing password as set, never its digits', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValueOnce(
      json({ has_password: true, issued_at: '2026-12-01T02:00:00+00:00', password: null }),
    )
    const w = await mountPage()
    expect(w.find('[data-testid="password-state"]').text()).toContain('已设置')
    expect(w.find('[data-testid="password-digits"]').exists()).toBe(false)
    expect(w.find('[data-testid="password-reset"]').text()).toContain('重置')
  })

  it("shows the API's message when the password cannot be read", async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValueOnce(
      json({ error: { code: 'INTERNAL_ERROR', message: '服务器内部错误', details: {} } }, 500),
    )
    const w = await mountPage()
    expect(w.find('[data-testid="password-error"]').text()).toContain('服务器内部错误')
  })
})

describe('copyText', () => {
  afterEach(() => vi.restoreAllMocks())

  it('uses the Clipboard API in a secure context', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined)
    Object.defineProperty(window, 'isSecureContext', { value: true, configurable: true })
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    expect(await copyText('12345678')).toBe(true)
    expect(writeText).toHaveBeenCalledWith('12345678')
  })

  it("falls back to execCommand('copy') and reports its failure", async () => {
    Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true })
    const exec = vi.fn().mockReturnValue(false)
    Object.defineProperty(document, 'execCommand', { value: exec, configurable: true })
    expect(await copyText('12345678')).toBe(false)
    expect(exec).toHaveBeenCalledWith('copy')
    expect(document.querySelector('textarea')).toBeNull()
  })
})
