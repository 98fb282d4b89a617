// Certification photos straight from a phone camera are often larger than the API's limit
// (UPLOAD_MAX_BYTES, 5 MiB an image): big ones are redrawn as a JPEG no wider or taller
// than MAX_SIDE before upload. A small JPEG/PNG/WebP goes as it is.

export const MAX_SIDE = 2000
export const SHRINK_ABOVE_BYTES = 1_500_000
const KEPT_TYPES = ['image/jpeg', 'image/png', 'image/webp']

/** The size that fits within max×max keeping the aspect ratio (never enlarged). */
export function fitWithin(width: number, height: number, max: number = MAX_SIDE): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height))
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) }
}

/** Whether a picked file goes through the redraw. */
export function needsShrink(file: Pick<File, 'size' | 'type'>): boolean {
  return file.size > SHRINK_ABOVE_BYTES || !KEPT_TYPES.includes(file.type)
}

/** The file to upload: a redrawn JPEG when needed and possible, else the file itself. */
export async function shrinkImage(file: File, quality = 0.85): Promise<File> {
  if (!needsShrink(file) || typeof createImageBitmap !== 'function') return file
  try {
    const bitmap = await createImageBitmap(file)
    const { width, height } = fitWithin(bitmap.width, bitmap.height)
    const canvas = document.createElement('canvas')
    canvas.width = width
    canvas.height = height
    const ctx = canvas.getContext('2d')
    if (!ctx) return file
    ctx.drawImage(bitmap, 0, 0, width, height)
    bitmap.close()
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality))
    if (!blob || blob.size >= file.size) return file
    const name = (file.name || 'photo').replace(/\.[^.]*$/, '') + '.jpg'
    return new File([blob], name, { type: 'image/jpeg' })
  } catch {
    return file // the API says in Chinese what is wrong with it
  }
}
