/** Who is logged in: token, /me (user, operator, permissions). */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as authApi from '@/api/auth'
import type { Me, MeOperator, MeUser } from '@/api/types'
import { clearToken, getToken, setToken } from '@/utils/token'

export const useUserStore = defineStore('user', () => {
  const token = ref<string | null>(getToken())
  const user = ref<MeUser | null>(null)
  const operator = ref<MeOperator | null>(null)
  const permissions = ref<string[]>([])
  const loaded = ref(false)

  const isPlatform = computed(() => operator.value?.kind === 'platform')
  const permissionSet = computed(() => new Set(permissions.value))

  function can(required: string | string[] | undefined | null): boolean {
    if (!required || (Array.isArray(required) && required.length === 0)) return true
    const codes = Array.isArray(required) ? required : [required]
    return codes.some((c) => permissionSet.value.has(c))
  }

  function applyMe(me: Me): void {
    user.value = me.user ?? null
    operator.value = me.operator ?? null
    permissions.value = me.permissions ?? []
    loaded.value = true
  }

  async function loadMe(): Promise<void> {
    applyMe(await authApi.fetchMe())
  }

  async function login(username: string, password: string): Promise<void> {
    const { access_token: accessToken } = await authApi.login(username, password)
    if (!accessToken) throw new Error('login answered without an access_token')
    setToken(accessToken)
    token.value = accessToken
    await loadMe()
  }

  function reset(): void {
    clearToken()
    token.value = null
    user.value = null
    operator.value = null
    permissions.value = []
    loaded.value = false
  }

  /** Re-read the token (the http client may have cleared it on a 401). */
  function syncToken(): void {
    token.value = getToken()
    if (!token.value) {
      user.value = null
      operator.value = null
      permissions.value = []
      loaded.value = false
    }
  }

  return { token, user, operator, permissions, loaded, isPlatform, can, applyMe, loadMe, login, reset, syncToken }
})
