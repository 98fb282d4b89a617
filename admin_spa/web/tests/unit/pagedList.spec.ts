import { describe, expect, it, vi } from 'vitest'
import { defineComponent, h, nextTick } from 'vue'
import { mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'

vi.mock('element-plus', () => ({ ElMessage: { success: vi.fn(), error: vi.fn() } }))

import { ApiError } from '@/api/http'
import { usePagedList } from '@/composables/usePagedList'

const page = (items: number[], total = items.length) => ({ items, total, page: 1, page_size: 20 })

describe('usePagedList', () => {
  it('sends the page, the size and the filled filters, trimmed', async () => {
    const fetcher = vi.fn().mockResolvedValue(page([1, 2], 42))
    const list = usePagedList(fetcher, { filters: { q: '' as string, operator_id: undefined as number | undefined }, syncUrl: false })
    list.filters.q = '  云创 '
    await list.search()
    expect(fetcher).toHaveBeenLastCalledWith({ page: 1, page_size: 20, q: '云创' })
    expect([list.items, list.total, list.loading, list.error]).toEqual([[1, 2], 42, false, ''])
  })

  it('a failed load says why, in the API message, instead of looking like an empty list', async () => {
    const fetcher = vi.fn().mockRejectedValueOnce(new ApiError(403, 'forbidden', '没有权限查看运营商'))
    const list = usePagedList(fetcher, { filters: {}, syncUrl: false })
    await list.load()
    expect([list.items, list.total, list.loading]).toEqual([[], 0, false])
    expect(list.error).toBe('加载失败：没有权限查看运营商')
    fetcher.mockResolvedValueOnce(page([7]))
    await list.load()
    expect([list.items, list.error]).toEqual([[7], ''])
  })

  it('an error that is not the API answer still says the load failed', async () => {
    const list = usePagedList(vi.fn().mockRejectedValue(new TypeError('x is undefined')), { filters: {}, syncUrl: false })
    await list.load()
    expect(list.error).toBe('加载失败，请稍后重试')
  })

  it('keeps only the latest load: an older answer arriving late is dropped', async () => {
    const answers: Array<(v: ReturnType<typeof page>) => void> = []
    const fetcher = vi.fn(() => new Promise<ReturnType<typeof page>>((resolve) => answers.push(resolve)))
    const list = usePagedList(fetcher, { filters: {}, syncUrl: false })
    const first = list.load()
    const second = list.load()
    answers[1]!(page([2]))
    await second
    answers[0]!(page([1]))
    await first
    expect(list.items).toEqual([2])
    expect(list.loading).toBe(false)
  })

  it('steps back to the last page that has rows after its last row went away', async () => {
    const fetcher = vi.fn().mockResolvedValueOnce(page([], 21)).mockResolvedValueOnce(page([21], 21))
    const list = usePagedList(fetcher, { filters: {}, syncUrl: false })
    list.page = 3
    await list.load()
    expect(fetcher).toHaveBeenLastCalledWith({ page: 2, page_size: 20 })
    expect([list.page, list.items]).toEqual([2, [21]])
  })

  it('reads its filters and page from the URL and writes them back, defaults left out', async () => {
    const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/list', component: { render: () => null } }] })
    await router.push('/list?q=%E5%BF%AB%E5%85%85&operator_id=3&page=2&page_size=50&other=1')
    const fetcher = vi.fn().mockResolvedValue(page([1], 80))
    let list!: ReturnType<typeof usePagedList<number, { q: string; operator_id: number | undefined }>>
    const Host = defineComponent({
      setup() {
        list = usePagedList(fetcher, { filters: { q: '', operator_id: undefined } })
        return () => h('div')
      },
    })
    mount(Host, { global: { plugins: [router] } })
    expect([list.filters.q, list.filters.operator_id, list.page, list.pageSize]).toEqual(['快充', 3, 2, 50])
    list.filters.operator_id = undefined
    await list.search()
    await nextTick()
    await router.isReady()
    await new Promise((r) => setTimeout(r, 0))
    expect(router.currentRoute.value.query).toEqual({ q: '快充', page_size: '50' })
    expect(fetcher).toHaveBeenLastCalledWith({ page: 1, page_size: 50, q: '快充' })
  })
})
