/**
 * Drivers by id and by phone for the review queues, whose rows carry only ``driver_id``:
 * names come from the members API (member.read); without it the queue shows the id.
 */
import { reactive } from 'vue'
import { http } from '@/api/http'
import { listMembers } from '@/api/members'
import type { Member } from '@/api/types'
import { useUserStore } from '@/stores/user'

export function useDriverLookup() {
  const user = useUserStore()
  const byId = reactive(new Map<number, Member | null>())
  const canRead = () => user.can('member.read')

  /** Load the drivers of a page of rows (each once). */
  async function ensure(ids: Array<number | undefined>): Promise<void> {
    if (!canRead()) return
    const missing = [...new Set(ids.filter((id): id is number => typeof id === 'number' && !byId.has(id)))]
    await Promise.all(
      missing.map(async (id) => {
        byId.set(id, null)
        try {
          byId.set(id, await http.get<Member>(`/members/${id}`, undefined, { silent: true }))
        } catch {
          byId.delete(id)
        }
      }),
    )
  }

  function label(id: number | undefined): string {
    if (typeof id !== 'number') return '-'
    const m = byId.get(id)
    if (!m) return `会员 #${id}`
    return [m.phone, m.nickname].filter(Boolean).join(' · ') || `会员 #${id}`
  }

  /** The ids of the drivers with exactly this phone (the members search matches a part of it). */
  async function idsByPhone(phone: string): Promise<number[]> {
    const wanted = phone.trim()
    if (!wanted) return []
    const page = await listMembers({ q: wanted, page: 1, page_size: 50 })
    const exact = (page.items ?? []).filter((m) => m.phone === wanted && typeof m.id === 'number')
    for (const m of exact) byId.set(m.id as number, m)
    return exact.map((m) => m.id as number)
  }

  return reactive({ byId, canRead, ensure, label, idsByPhone })
}
