import { createRouter, createWebHistory, type Router } from 'vue-router'
import type { Pinia } from 'pinia'
import { setUnauthorizedHandler } from '@/api/http'
import { useUserStore } from '@/stores/user'
import { buildMenu, firstAllowedPath, routeAllowed } from './menu'
import { layoutChildren, routes } from './routes'

const APP_TITLE = '充电运营管理后台'

export function createAppRouter(pinia: Pinia): Router {
  const router = createRouter({
    history: createWebHistory(import.meta.env.BASE_URL),
    routes,
    scrollBehavior: () => ({ top: 0 }),
  })

  router.beforeEach(async (to) => {
    const user = useUserStore(pinia)
    user.syncToken()
    if (to.meta.public) {
      if (to.name === 'login' && user.token) return { path: '/' }
      return true
    }
    if (!user.token) {
      return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
    }
    if (!user.loaded) {
      try {
        await user.loadMe()
      } catch {
        user.reset()
        return { name: 'login', query: { redirect: to.fullPath } }
      }
    }
    if (to.name === 'home') {
      const first = firstAllowedPath(buildMenu(layoutChildren, user.permissions, '/'))
      return first ?? { name: 'forbidden' }
    }
    // Every matched record must allow it (a parent's permission guards its children).
    if (!to.matched.every((record) => routeAllowed(record.meta.permission, user.permissions))) {
      return { name: 'forbidden', query: { from: to.fullPath } }
    }
    return true
  })

  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} - ${APP_TITLE}` : APP_TITLE
  })

  setUnauthorizedHandler(() => {
    const user = useUserStore(pinia)
    user.reset()
    const current = router.currentRoute.value
    if (current.name !== 'login') {
      void router.replace({ name: 'login', query: { redirect: current.fullPath } })
    }
  })

  return router
}
