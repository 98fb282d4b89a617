import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue'
import { showConfirmDialog } from 'vant'
import { api, type ApiError } from '@/api/client'

const POLL_MS = 3000

/**
 * A live order page's reading (ours at /orders/<no>/live, a partner's at /hlht/orders/<no>):
 * polled every 3 s until its state is final, a failed poll kept as `error` without a toast
 * every 3 s (the page keeps the last reading), and the confirmed stop, after which the
 * polling goes on until the order is final.
 */
export function useLiveOrder<T extends { state: string }>(
  livePath: () => string,
  stopPath: () => string,
  finalStates: readonly string[],
) {
  const live = ref(null) as Ref<T | null>
  const error = ref('')
  const stopping = ref(false)
  let timer: ReturnType<typeof setTimeout> | undefined
  let gone = false

  function schedule(): void {
    clearTimeout(timer)
    if (!gone && !(live.value && finalStates.includes(live.value.state))) {
      timer = setTimeout(() => void poll(), POLL_MS)
    }
  }

  async function poll(): Promise<void> {
    try {
      live.value = await api.get<T>(livePath(), undefined, { toast: live.value === null })
      error.value = ''
    } catch (e) {
      error.value = (e as ApiError).message
    }
    schedule()
  }

  /** One reading now (after a change the page made), the polling keeping its rhythm. */
  async function refresh(): Promise<void> {
    try {
      live.value = await api.get<T>(livePath())
    } catch {
      // toasted
    }
  }

  async function stop(): Promise<void> {
    try {
      await showConfirmDialog({ title: '停止充电', message: '确定要停止本次充电吗？' })
    } catch {
      return // cancelled
    }
    stopping.value = true
    try {
      live.value = await api.post<T>(stopPath())
      schedule()
    } catch {
      // toasted in the API's words
    } finally {
      stopping.value = false
    }
  }

  onMounted(() => void poll())
  onBeforeUnmount(() => {
    gone = true
    clearTimeout(timer)
  })
  return { live, error, stopping, stop, refresh }
}
