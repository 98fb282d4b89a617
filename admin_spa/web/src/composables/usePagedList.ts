/**
 * A server-paged table: page, page_size and filters live in the URL's query string (so a
 * reload or a shared link shows the same page) and are sent as the API's query string.
 * A failed load leaves an empty table that says why (`error`: the API's Chinese message, for
 * the table's empty text), not one that looks like "no rows".
 */
import { reactive, ref, shallowRef } from 'vue'
import { useRoute, useRouter, type LocationQuery } from 'vue-router'
import { ApiError } from '@/api/http'
import type { Paged } from '@/api/types'

export type FilterValue = string | number | undefined
export type Filters = Record<string, FilterValue>

export interface PagedListOptions<F extends Filters> {
  /** Filter names and their empty values; numbers are parsed back as numbers from the URL. */
  filters: F
  pageSize?: number
  /** Keep the state in the URL query string (off for tables inside dialogs). */
  syncUrl?: boolean
}

const PAGE_SIZES = [10, 20, 50, 100]

function readQuery<F extends Filters>(query: LocationQuery, defaults: F): F {
  const out = { ...defaults }
  for (const key of Object.keys(defaults) as Array<keyof F>) {
    const raw = query[key as string]
    const value = Array.isArray(raw) ? raw[0] : raw
    if (value === undefined || value === null || value === '') continue
    if (typeof defaults[key] === 'number' || (defaults[key] === undefined && /^\d+$/.test(value))) {
      const n = Number(value)
      if (Number.isFinite(n)) out[key] = n as F[keyof F]
    } else {
      out[key] = value as F[keyof F]
    }
  }
  return out
}

function positiveInt(value: unknown, fallback: number): number {
  const n = Number(Array.isArray(value) ? value[0] : value)
  return Number.isInteger(n) && n > 0 ? n : fallback
}

export function usePagedList<T, F extends Filters>(
  fetcher: (query: F & { page: number; page_size: number }) => Promise<Paged<T>>,
  options: PagedListOptions<F>,
) {
  const syncUrl = options.syncUrl ?? true
  const route = syncUrl ? useRoute() : null
  const router = syncUrl ? useRouter() : null
  const defaultSize = options.pageSize ?? 20

  const filters = reactive(route ? readQuery(route.query, options.filters) : { ...options.filters }) as F
  const page = ref(route ? positiveInt(route.query.page, 1) : 1)
  const pageSize = ref(route ? Math.min(100, positiveInt(route.query.page_size, defaultSize)) : defaultSize)
  const items = shallowRef<T[]>([])
  const total = ref(0)
  const loading = ref(false)
  const error = ref('')
  let seq = 0

  function currentQuery(): F & { page: number; page_size: number } {
    const q = { page: page.value, page_size: pageSize.value } as F & { page: number; page_size: number }
    for (const [k, v] of Object.entries(filters)) {
      if (v !== undefined && v !== '') (q as Record<string, unknown>)[k] = typeof v === 'string' ? v.trim() : v
    }
    return q
  }

  async function load(): Promise<void> {
    const mine = ++seq
    loading.value = true
    const query = currentQuery()
    if (router && route) {
      const urlQuery: Record<string, string> = {}
      for (const [k, v] of Object.entries(query)) {
        if (k === 'page' && v === 1) continue
        if (k === 'page_size' && v === defaultSize) continue
        urlQuery[k] = String(v)
      }
      void router.replace({ query: urlQuery })
    }
    try {
      const result = await fetcher(query)
      if (mine !== seq) return
      error.value = ''
      items.value = result.items ?? []
      total.value = result.total
      // Deleting the last row of the last page: step back to a page that has rows.
      if (items.value.length === 0 && result.total > 0 && page.value > 1) {
        page.value = Math.max(1, Math.ceil(result.total / pageSize.value))
        await load()
      }
    } catch (err) {
      if (mine === seq) {
        items.value = []
        total.value = 0
        error.value = err instanceof ApiError && err.message ? `加载失败：${err.message}` : '加载失败，请稍后重试'
      }
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  /** Apply the filters from page 1. */
  function search(): Promise<void> {
    page.value = 1
    return load()
  }

  function resetFilters(): Promise<void> {
    Object.assign(filters, options.filters)
    return search()
  }

  // reactive() unwraps the refs, so templates can v-model `list.page` and `list.filters.q`.
  return reactive({ filters, page, pageSize, pageSizes: PAGE_SIZES, items, total, loading, error, load, search, resetFilters })
}
