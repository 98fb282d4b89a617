import { describe, expect, it, vi } from 'vitest'
import { defineComponent, h, nextTick } from 'vue'
import { mount } from '@vue/test-utils'
import { ApiError } from '@/api/http'
import { certificationState, fileSize, kindLabel, roleLabel } from '@/pages/certifications/certification'
import { useImageUrls } from '@/pages/certifications/useImageUrls'

describe('certification labels', () => {
  it('names kinds, states and image roles in Chinese (case #4 2019-10-09)', () => {
    expect(kindLabel('ride_hailing')).toBe('网约车')
    expect(kindLabel('taxi')).toBe('出租车')
    expect(certificationState('revoked')).toEqual({ label: '已撤销', type: 'info' })
    expect(certificationState(undefined).label).toBe('未知')
    expect(roleLabel('driving_licence')).toBe('驾驶证')
    expect(fileSize(12_345)).toBe('12.1 KB')
  })
})

describe('useImageUrls', () => {
  it('fetches each image as a blob, shows it as a data: URL (the CSP allows no blob:), a Chinese error for a failed one', async () => {
    const fetchFile = vi.fn(async (_app: number, fileId: number) => {
      if (fileId === 3) throw new ApiError(404, 'NOT_FOUND', '图片不存在')
      return new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: 'image/jpeg' })
    })
    let images!: ReturnType<typeof useImageUrls>
    const wrapper = mount(
      defineComponent({
        setup() {
          images = useImageUrls(fetchFile)
          return () => h('div')
        },
      }),
    )
    const files = [{ id: 1, role: 'id_card' }, { id: 2, role: 'driving_licence' }, { id: 3, role: 'vehicle_photo' }]
    await images.load(7, files)
    expect(fetchFile.mock.calls.map((c) => c.slice(0, 2))).toEqual([[7, 1], [7, 2], [7, 3]])
    expect(images.slots[1]?.url).toBe('data:image/jpeg;base64,/9j/')
    expect(images.slots[3]).toMatchObject({ url: '', error: '图片不存在', loading: false })
    expect(images.urls(files)).toHaveLength(2)
    wrapper.unmount()
    await nextTick()
    expect(Object.keys(images.slots)).toEqual([]) // forgotten with the page
  })
})
