/** 运维 pages: default time windows and the weekly disconnection chart. */
import type { DisconnectionRow } from '@/api/types'

/** The last `days` days up to `now`, as ISO strings with their zone (the API wants one). */
export function lastDays(days: number, now: Date = new Date()): { since: string; until: string } {
  const since = new Date(now.getTime() - days * 86_400_000)
  return { since: since.toISOString(), until: now.toISOString() }
}

/** 3725 → "1小时2分"; under a minute → "0分". */
export function formatDuration(seconds: number): string {
  const minutes = Math.floor(Math.max(0, seconds) / 60)
  const h = Math.floor(minutes / 60)
  const m = minutes % 60
  return h ? `${h}小时${m}分` : `${m}分`
}

/** Per week: disconnections (bars) and offline hours (line), summed over the rows. */
export function weeklyOption(rows: readonly DisconnectionRow[]) {
  const weeks = new Map<string, { count: number; seconds: number }>()
  for (const r of rows) {
    const key = r.week_start ?? ''
    const w = weeks.get(key) ?? { count: 0, seconds: 0 }
    w.count += r.disconnections ?? 0
    w.seconds += r.offline_seconds ?? 0
    weeks.set(key, w)
  }
  const keys = [...weeks.keys()].sort()
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: ['掉线次数', '离线时长（小时）'] },
    grid: { left: 50, right: 60, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: keys.map((k) => `${k} 周`) },
    yAxis: [
      { type: 'value', name: '次', minInterval: 1 },
      { type: 'value', name: '小时' },
    ],
    series: [
      { name: '掉线次数', type: 'bar', data: keys.map((k) => weeks.get(k)!.count) },
      {
        name: '离线时长（小时）',
        type: 'line',
        yAxisIndex: 1,
        data: keys.map((k) => Math.round((weeks.get(k)!.seconds / 3600) * 100) / 100),
      },
    ],
  }
}
