/**
 * Downloads a file the API serves behind the bearer token (the xlsx exports): the Chinese
 * name from Content-Disposition (RFC 5987 `filename*=UTF-8''…`, else `filename=`), the
 * API's Chinese error message shown on failure, the blob saved through a temporary link.
 */
import { ElMessage } from 'element-plus'
import { ApiError, buildUrl, parseError, type Query } from '@/api/http'
import { getToken } from '@/utils/token'

/** The file name a Content-Disposition header gives, `fallback` without one. */
export function filenameFrom(header: string | null, fallback: string): string {
  if (!header) return fallback
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header)
  if (star) {
    try {
      return decodeURIComponent(star[2].trim().replace(/^"|"$/g, ''))
    } catch {
      // a malformed escape: fall back to the plain name
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(header)
  if (plain) return (plain[2] ?? plain[1]).trim()
  return fallback
}

/** Fetch `path` with the admin token and save it; resolves to the name saved. */
export async function download(path: string, query: Query = {}, fallback = 'export.xlsx'): Promise<string> {
  const headers: Record<string, string> = {}
  const token = getToken()
  if (token) headers.Authorization = `Bearer ${token}`
  let res: Response
  try {
    res = await fetch(buildUrl(path, query), { method: 'GET', headers })
  } catch {
    const error = new ApiError(0, 'NETWORK_ERROR', '网络连接失败，请检查网络后重试')
    ElMessage.error(error.message)
    throw error
  }
  if (!res.ok) {
    const error = await parseError(res)
    ElMessage.error(error.message)
    throw error
  }
  const name = filenameFrom(res.headers.get('Content-Disposition'), fallback)
  const url = URL.createObjectURL(await res.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.appendChild(link)
  link.click()
  link.remove()
  URL.revokeObjectURL(url)
  return name
}
