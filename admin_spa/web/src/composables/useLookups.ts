/** Options for selects (operators, tariffs, stations), loaded on demand. */
import { ref } from 'vue'
import { allOperators } from '@/api/operators'
import { listTariffs } from '@/api/tariffs'
import { listStations } from '@/api/stations'
import { listRoles } from '@/api/roles'
import type { Operator, Role, Station, Tariff } from '@/api/types'
import { useUserStore } from '@/stores/user'

export function useOperatorOptions() {
  const user = useUserStore()
  const operators = ref<Operator[]>([])
  const loading = ref(false)
  /** Only admins who may read operators get the list; the others see none. */
  async function load(): Promise<void> {
    if (!user.can('operator.read')) return
    loading.value = true
    try {
      operators.value = await allOperators()
    } catch {
      operators.value = []
    } finally {
      loading.value = false
    }
  }
  const nameOf = (id: number | null | undefined) => operators.value.find((o) => o.id === id)?.name ?? (id ? `#${id}` : '-')
  return { operators, loading, load, nameOf }
}

export function useTariffOptions() {
  const tariffs = ref<Tariff[]>([])
  const loading = ref(false)
  async function load(q = ''): Promise<void> {
    loading.value = true
    try {
      tariffs.value = (await listTariffs({ q, page: 1, page_size: 100 })).items ?? []
    } catch {
      tariffs.value = []
    } finally {
      loading.value = false
    }
  }
  return { tariffs, loading, load }
}

export function useStationOptions() {
  const stations = ref<Station[]>([])
  const loading = ref(false)
  async function search(q = ''): Promise<void> {
    loading.value = true
    try {
      stations.value = (await listStations({ q, page: 1, page_size: 50 })).items ?? []
    } catch {
      stations.value = []
    } finally {
      loading.value = false
    }
  }
  /** Make sure a given station (e.g. the one being edited) is among the options. */
  function ensure(station: Pick<Station, 'id' | 'name'> | null | undefined): void {
    if (station?.id !== undefined && !stations.value.some((s) => s.id === station.id)) {
      stations.value = [{ id: station.id, name: station.name }, ...stations.value]
    }
  }
  return { stations, loading, search, ensure }
}

export function useRoleOptions() {
  const roles = ref<Role[]>([])
  async function load(): Promise<void> {
    try {
      roles.value = (await listRoles({ page: 1, page_size: 100 })).items ?? []
    } catch {
      roles.value = []
    }
  }
  return { roles, load }
}
