/** Helpers of 推广链接 and 优惠券 → 按分组发放: copying text, the menu JSON, request ids. */

/**
 * Copy text to the clipboard: the Clipboard API where the page may use it (https or
 * localhost), else a hidden textarea and `execCommand('copy')` (plain http intranets).
 * Resolves to whether the text was copied.
 */
export async function copyText(text: string, doc: Document = document): Promise<boolean> {
  try {
    if (typeof navigator !== 'undefined' && navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text)
      return true
    }
  } catch {
    // fall through to the textarea
  }
  const area = doc.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  doc.body.appendChild(area)
  area.select()
  try {
    return doc.execCommand('copy')
  } catch {
    return false
  } finally {
    doc.body.removeChild(area)
  }
}

/** The official-account menu JSON as it is pasted into WeChat's menu API: indented, Chinese kept. */
export function menuJsonText(menu: Record<string, unknown> | null | undefined): string {
  return menu ? JSON.stringify(menu, null, 2) : ''
}

/**
 * A request id for one grant: made once when the dialog opens and sent again by a retry, so
 * the server grants nothing twice (8-64 letters, digits, - or _).
 */
export function newRequestId(random: () => number = Math.random, now: () => number = Date.now): string {
  const part = Array.from({ length: 12 }, () => Math.floor(random() * 36).toString(36)).join('')
  return `g-${now().toString(36)}-${part}`
}

/** What a group grant answers, in one sentence. */
export function groupGrantText(result: { granted?: number; skipped?: number; repeated?: boolean }): string {
  const granted = result.granted ?? 0
  const skipped = result.skipped ?? 0
  const head = result.repeated ? '该请求已发放过，未重复发放：' : '已发放：'
  const tail = skipped ? `，${skipped} 位会员已达每人限领数未发放` : ''
  return `${head}${granted} 位会员各 1 张${tail}`
}
