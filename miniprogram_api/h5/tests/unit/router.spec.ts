import { beforeEach, describe, expect, it } from 'vitest'
import { setToken } from '@/api/client'
import { router } from '@/router'

describe('router guard', () => {
  beforeEach(() => localStorage.clear())

  it('sends a driver without a token to the login page, keeping where they were going', async () => {
    await router.push('/stations/7')
    expect(router.currentRoute.value.name).toBe('login')
    expect(router.currentRoute.value.query.redirect).toBe('/stations/7')
  })

  it('lets a driver with a token through', async () => {
    setToken('tok')
    await router.push('/stations/8')
    expect(router.currentRoute.value.name).toBe('station')
    expect(router.currentRoute.value.params.id).toBe('8')
  })
})
