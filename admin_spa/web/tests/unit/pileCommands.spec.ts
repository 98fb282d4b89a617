import { describe, expect, it } from 'vitest'
import { connectorChoice, needsConfirmation, outcomeLabel, PILE_COMMANDS } from '@/utils/pileCommands'

describe('pile commands', () => {
  it('lists every command the API takes, once', () => {
    const values = PILE_COMMANDS.map((c) => c.value)
    expect(new Set(values).size).toBe(8)
    expect(values).toContain('push_tariff')
  })
  it('asks for a gun where the command is about one', () => {
    expect(connectorChoice('unlock_connector')).toBe('gun')
    expect(connectorChoice('make_unavailable')).toBe('gun-or-pile')
    expect(connectorChoice('sync_time')).toBe('none')
  })
  it('confirms what interrupts a driver, not a clock sync', () => {
    expect(needsConfirmation('hard_reset')).toBe(true)
    expect(needsConfirmation('remote_stop')).toBe(true)
    expect(needsConfirmation('sync_time')).toBe(false)
  })
  it('reads every outcome in Chinese, an unknown one as it came', () => {
    expect(outcomeLabel('pile_offline').label).toBe('桩离线')
    expect(outcomeLabel('timed_out').label).toBe('应答超时')
    expect(outcomeLabel('weird').label).toBe('weird')
  })
})
