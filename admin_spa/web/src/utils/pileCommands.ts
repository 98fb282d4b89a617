/** Remote pile commands: their names, which need a gun, which need a confirmation, and
 * how the pile's answer reads. */
import type { PileCommandName } from '@/api/types'

export const PILE_COMMANDS: { value: PileCommandName; label: string }[] = [
  { value: 'remote_stop', label: '远程停止充电' },
  { value: 'soft_reset', label: '软重启（空闲时）' },
  { value: 'hard_reset', label: '硬重启（立即）' },
  { value: 'make_available', label: '设为可用' },
  { value: 'make_unavailable', label: '设为停用' },
  { value: 'unlock_connector', label: '解锁充电枪' },
  { value: 'push_tariff', label: '下发电价' },
  { value: 'sync_time', label: '校时' },
]

/** Commands that ask for a gun number (availability: 0 means the whole pile). */
export function connectorChoice(command: PileCommandName): 'none' | 'gun' | 'gun-or-pile' {
  if (command === 'unlock_connector' || command === 'remote_stop') return 'gun'
  if (command === 'make_available' || command === 'make_unavailable') return 'gun-or-pile'
  return 'none'
}

/** What interrupts a driver or the pile: asked again before it is sent. */
export function needsConfirmation(command: PileCommandName): boolean {
  return ['remote_stop', 'soft_reset', 'hard_reset', 'make_unavailable', 'unlock_connector'].includes(command)
}

export const OUTCOME_LABEL: Record<string, { label: string; type: 'success' | 'warning' | 'danger' | 'info' }> = {
  accepted: { label: '已接受', type: 'success' },
  rejected: { label: '被拒绝', type: 'danger' },
  pile_offline: { label: '桩离线', type: 'info' },
  timed_out: { label: '应答超时', type: 'warning' },
  not_supported: { label: '桩不支持', type: 'warning' },
}

export function outcomeLabel(outcome: string): { label: string; type: 'success' | 'warning' | 'danger' | 'info' } {
  return OUTCOME_LABEL[outcome] ?? { label: outcome, type: 'info' }
}
