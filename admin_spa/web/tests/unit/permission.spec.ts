import { beforeEach, describe, expect, it } from 'vitest'
import { defineComponent } from 'vue'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { permission } from '@/directives/permission'
import { useUserStore } from '@/stores/user'

const Buttons = defineComponent({
  template: `
    <div>
      <button v-permission="'station.write'" data-testid="create">新建站点</button>
      <button v-permission="['pile.write', 'station.write']" data-testid="either">其一</button>
      <button data-testid="always">查询</button>
    </div>`,
})

describe('v-permission', () => {
  beforeEach(() => setActivePinia(createPinia()))

  function mountWith(perms: string[]) {
    const pinia = createPinia()
    setActivePinia(pinia)
    useUserStore().permissions = perms
    return mount(Buttons, { global: { plugins: [pinia], directives: { permission } } })
  }

  it('removes a button whose permission is missing', () => {
    const w = mountWith(['station.read'])
    expect(w.find('[data-testid="create"]').exists()).toBe(false)
    expect(w.find('[data-testid="either"]').exists()).toBe(false)
    expect(w.find('[data-testid="always"]').exists()).toBe(true)
  })

  it('keeps it when the permission (or one of several) is held', () => {
    const w = mountWith(['pile.write'])
    expect(w.find('[data-testid="create"]').exists()).toBe(false)
    expect(w.find('[data-testid="either"]').exists()).toBe(true)
    const w2 = mountWith(['station.write'])
    expect(w2.find('[data-testid="create"]').exists()).toBe(true)
  })
})
