import { describe, expect, it } from 'vitest'
import { icons } from '@/icons'

// every source file of the console, as text
const sources = import.meta.glob('../../src/**/*.{vue,ts}', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>

const named = (pattern: RegExp) => {
  const found = new Set<string>()
  for (const text of Object.values(sources)) {
    for (const m of text.matchAll(pattern)) found.add(m[1])
  }
  return [...found].sort()
}

describe('icons', () => {
  it('registers every icon a menu entry names (an unregistered one shows as nothing)', () => {
    const missing = named(/\bicon: '([A-Z][A-Za-z]+)'/g).filter((n) => !(n in icons))
    expect(missing).toEqual([])
  })

  it('registers every icon a button names in a template', () => {
    const missing = named(/\bicon="([A-Z][A-Za-z]+)"/g).filter((n) => !(n in icons))
    expect(missing).toEqual([])
  })
})
