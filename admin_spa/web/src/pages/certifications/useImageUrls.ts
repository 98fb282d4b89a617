/**
 * An application's images as URLs an <img> can show: fetched with the bearer token (the
 * files route needs it, an <img src> cannot send it), then read into data: URLs — the
 * console's CSP (app/http_security.py) allows `img-src 'self' data: https:`, not blob:.
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

/** A Blob as a data: URL. */
export function blobToDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result))
    reader.onerror = () => reject(reader.error ?? new Error('read failed'))
    reader.readAsDataURL(blob)
  })
}

export function useImageUrls(
  fetchFile: (applicationId: number, fileId: number, signal?: AbortSignal) => Promise<Blob> = certificationFile,
) {
  const slots = reactive<Record<number, ImageSlot>>({})
  let controller: AbortController | null = null

  /** Forget the images (and stop the fetches still running). */
  function clear(): void {
    controller?.abort()
    controller = null
    for (const key of Object.keys(slots)) delete slots[Number(key)]
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
          const url = await blobToDataUrl(await fetchFile(applicationId, id, mine.signal))
          if (mine.signal.aborted) return
          slots[id] = { fileId: id, url, error: '', loading: false }
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
