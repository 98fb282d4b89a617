/** The overview's charts: ECharts options built from the API's integer fen and Wh. */
import type { DashboardDay, DashboardTierShare } from '@/api/types'

export const TIER_LABEL: Record<string, string> = { sharp: '尖', peak: '峰', flat: '平', valley: '谷' }

/** Per-day orders (bars), kWh and revenue in yuan (lines), dates shown as MM-DD. */
export function trendOption(days: readonly DashboardDay[]) {
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: ['订单数', '电量（kWh）', '金额（元）'] },
    grid: { left: 50, right: 60, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: days.map((d) => d.date.slice(5)) },
    yAxis: [
      { type: 'value', name: '单' },
      { type: 'value', name: 'kWh / 元' },
    ],
    series: [
      { name: '订单数', type: 'bar', data: days.map((d) => d.orders) },
      { name: '电量（kWh）', type: 'line', yAxisIndex: 1, data: days.map((d) => d.energy_wh / 1000) },
      { name: '金额（元）', type: 'line', yAxisIndex: 1, data: days.map((d) => d.revenue_fen / 100) },
    ],
  }
}

/** Each tier's share of the energy, in whole percent points summing to 100 (largest remainder). */
export function tierShares(tiers: readonly DashboardTierShare[]): { tier: string; label: string; percent: number }[] {
  const total = tiers.reduce((sum, t) => sum + t.energy_wh, 0)
  if (total <= 0) return []
  const raw = tiers.map((t) => ({ tier: t.tier, exact: (t.energy_wh * 100) / total }))
  const floors = raw.map((r) => Math.floor(r.exact))
  let left = 100 - floors.reduce((a, b) => a + b, 0)
  const byRemainder = raw.map((r, i) => ({ i, rest: r.exact - floors[i] })).sort((a, b) => b.rest - a.rest)
  for (const { i } of byRemainder) {
    if (left <= 0) break
    floors[i] += 1
    left -= 1
  }
  return raw.map((r, i) => ({ tier: r.tier, label: TIER_LABEL[r.tier] ?? r.tier, percent: floors[i] }))
}

export function tierOption(tiers: readonly DashboardTierShare[]) {
  return {
    tooltip: { trigger: 'item', formatter: '{b}: {c} kWh ({d}%)' },
    legend: { bottom: 0 },
    series: [
      {
        name: '峰谷电量',
        type: 'pie',
        radius: ['40%', '70%'],
        data: tiers.map((t) => ({ name: TIER_LABEL[t.tier] ?? t.tier, value: t.energy_wh / 1000 })),
      },
    ],
  }
}
