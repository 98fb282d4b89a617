/**
 * An application's images as object URLs: fetched with the bearer token (the files route
 * needs it, an <img src> cannot send it), revoked when replaced or when the page goes.
 */
import { onBeforeUnmount, reactive } from 'vue'
import { certificationFile, type CertificationFile } from '@/api/certifications'
import { ApiError } from '@/api/http'

export interface ImageSlot {
  fileId: number
  url: string
  error: string
  loading: boolean
}

export function useImageUrls(
  fetchFile: (applicationId: number, fileId: number, signal?: AbortSignal) => Promise<Blob> = certificationFile,
) {
  const slots = reactive<Record<number, ImageSlot>>({})
  let controller: AbortController | null = null

  function clear(): void {
    controller?.abort()
    controller = null
    for (const key of Object.keys(slots)) {
      const slot = slots[Number(key)]
      if (slot?.url) URL.revokeObjectURL(slot.url)
      delete slots[Number(key)]
    }
  }

  async function load(applicationId: number, files: CertificationFile[]): Promise<void> {
    clear()
    const mine = new AbortController()
    controller = mine
    await Promise.all(
      files.map(async (file) => {
        if (typeof file.id !== 'number') return
        const id = file.id
        slots[id] = { fileId: id, url: '', error: '', loading: true }
        try {
          const blob = await fetchFile(applicationId, id, mine.signal)
          if (mine.signal.aborted) return
          slots[id] = { fileId: id, url: URL.createObjectURL(blob), error: '', loading: false }
        } catch (err) {
          if (mine.signal.aborted) return
          slots[id] = { fileId: id, url: '', error: err instanceof ApiError ? err.message : '图片加载失败', loading: false }
        }
      }),
    )
  }

  /** The loaded URLs in file order, for the viewer's preview list. */
  function urls(files: CertificationFile[]): string[] {
    return files.map((f) => (typeof f.id === 'number' ? slots[f.id]?.url ?? '' : '')).filter(Boolean)
  }

  onBeforeUnmount(clear)
  return { slots, load, clear, urls }
}
