import { describe, expect, it } from 'vitest'
import { usePagedList } from '@/composables/usePagedList'
import type { Page } from '@/api/types'

const page = (n: number, items: number[], total: number): Page<number> => ({ page: n, page_size: 2, total, items })

describe('usePagedList', () => {
  it('loads pages one after another and finishes at the total', async () => {
    const asked: number[] = []
    const list = usePagedList<number>(async (n) => {
      asked.push(n)
      return page(n, n === 1 ? [1, 2] : [3], 3)
    }, 2)
    await list.loadMore()
    expect(list.finished.value).toBe(false)
    await list.loadMore()
    expect(asked).toEqual([1, 2])
    expect(list.items.value).toEqual([1, 2, 3])
    expect(list.finished.value).toBe(true)
  })

  it('keeps an error for the retry and clears it on the next page', async () => {
    let fail = true
    const list = usePagedList<number>(async (n) => {
      if (fail) throw Object.assign(new Error('x'), { message: '网络异常' })
      return page(n, [1], 1)
    })
    await list.loadMore()
    expect(list.error.value).toBe('网络异常，点击重试')
    fail = false
    await list.loadMore()
    expect(list.error.value).toBe('')
    expect(list.items.value).toEqual([1])
  })

  it('drops a page begun before a reload', async () => {
    let release: (p: Page<number>) => void = () => {}
    let call = 0
    const list = usePagedList<number>((n) => {
      call += 1
      if (call === 1) return new Promise((resolve) => (release = resolve))
      return Promise.resolve(page(n, [9], 1))
    })
    const slow = list.loadMore()
    await list.reload()
    release(page(1, [1, 2], 2))
    await slow
    expect(list.items.value).toEqual([9])
    expect(list.loading.value).toBe(false)
  })
})
