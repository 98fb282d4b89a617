import { ref, type Ref } from 'vue'
import type { ApiError } from '@/api/client'
import type { Page } from '@/api/types'

/**
 * A paged list behind Vant's <van-list> (my orders, the wallet ledger, refund requests):
 * pages fetched one after another, `finished` once the total is reached (or a page comes
 * back empty), an error kept for the list's "点击重试", and a reload that drops the answers
 * of loads begun before it (a slow page 2 must not land in the list that started again).
 */
export function usePagedList<T>(fetchPage: (page: number, pageSize: number) => Promise<Page<T>>, pageSize = 20) {
  const items = ref([]) as Ref<T[]>
  const loading = ref(false)
  const finished = ref(false)
  const error = ref('')
  let page = 0
  let generation = 0

  async function loadMore(): Promise<void> {
    const mine = generation
    try {
      const out = await fetchPage(page + 1, pageSize)
      if (mine !== generation) return
      page += 1
      items.value.push(...out.items)
      finished.value = items.value.length >= out.total || out.items.length === 0
      error.value = ''
    } catch (e) {
      if (mine === generation) error.value = `${(e as ApiError).message}，点击重试`
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  async function reload(): Promise<void> {
    generation++
    page = 0
    items.value = []
    finished.value = false
    error.value = ''
    loading.value = true
    await loadMore()
  }

  return { items, loading, finished, error, loadMore, reload }
}
