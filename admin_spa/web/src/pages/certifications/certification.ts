/** What the certification review shows: kinds, states and image roles in Chinese. */
type TagType = 'success' | 'warning' | 'danger' | 'info' | 'primary'

export const CERTIFICATION_KIND: Record<string, string> = {
  ride_hailing: '网约车',
  taxi: '出租车',
}

export const CERTIFICATION_STATE: Record<string, { label: string; type: TagType }> = {
  pending: { label: '待审核', type: 'warning' },
  approved: { label: '已通过', type: 'success' },
  rejected: { label: '已驳回', type: 'danger' },
  revoked: { label: '已撤销', type: 'info' },
}

export const FILE_ROLE: Record<string, string> = {
  id_card: '身份证',
  driving_licence: '驾驶证',
  vehicle_photo: '车辆照片',
}

export function certificationState(state: string | null | undefined) {
  return CERTIFICATION_STATE[state ?? ''] ?? { label: state || '未知', type: 'info' as const }
}

export const kindLabel = (kind: string | null | undefined) => CERTIFICATION_KIND[kind ?? ''] ?? (kind || '-')
export const roleLabel = (role: string | null | undefined) => FILE_ROLE[role ?? ''] ?? (role || '图片')

/** 12345 → "12.1 KB" */
export function fileSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '-'
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
