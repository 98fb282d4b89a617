import { describe, expect, it } from 'vitest'
import { MAX_SIDE, fitWithin, needsShrink, shrinkImage } from '@/utils/image'

describe('certification photo shrink', () => {
  it('fits a camera photo within the longest side, keeping its shape, never enlarging', () => {
    expect(fitWithin(4032, 3024)).toEqual({ width: MAX_SIDE, height: 1500 })
    expect(fitWithin(3024, 4032)).toEqual({ width: 1500, height: MAX_SIDE })
    expect(fitWithin(800, 600)).toEqual({ width: 800, height: 600 })
  })

  it('redraws big files and types the API does not take, keeps small JPEG/PNG/WebP', () => {
    expect(needsShrink({ size: 4_800_000, type: 'image/jpeg' })).toBe(true)
    expect(needsShrink({ size: 200_000, type: 'image/heic' })).toBe(true)
    expect(needsShrink({ size: 200_000, type: 'image/png' })).toBe(false)
  })

  it('sends a small image as it is', async () => {
    const f = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'a.png', { type: 'image/png' })
    await expect(shrinkImage(f)).resolves.toBe(f)
  })
})
