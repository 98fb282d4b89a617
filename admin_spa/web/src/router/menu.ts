/** The sidebar menu: the static routes a user's permissions let them open. */
import type { RouteRecordRaw } from 'vue-router'

export interface MenuItem {
  path: string
  name: string
  title: string
  icon?: string
  children?: MenuItem[]
}

/** Does a route's `meta.permission` (one code or any of several) allow these permissions? */
export function routeAllowed(permission: unknown, permissions: ReadonlySet<string> | readonly string[]): boolean {
  if (permission === undefined || permission === null || permission === '') return true
  const have = permissions instanceof Set ? permissions : new Set(permissions as readonly string[])
  const needed = Array.isArray(permission) ? (permission as string[]) : [String(permission)]
  return needed.length === 0 || needed.some((code) => have.has(code))
}

function joinPath(parent: string, child: string): string {
  if (child.startsWith('/')) return child
  return `${parent.replace(/\/$/, '')}/${child}`
}

/**
 * Menu entries from route records: hidden routes are skipped, a route is shown only if its
 * permission is held, and a group (a route with children) only if some child is shown.
 */
export function buildMenu(
  routes: readonly RouteRecordRaw[],
  permissions: ReadonlySet<string> | readonly string[],
  parentPath = '',
): MenuItem[] {
  const out: MenuItem[] = []
  for (const route of routes) {
    const meta = route.meta ?? {}
    if (meta.hidden) continue
    if (!routeAllowed(meta.permission, permissions)) continue
    const path = joinPath(parentPath, route.path)
    if (route.children && route.children.length > 0) {
      const children = buildMenu(route.children, permissions, path)
      if (meta.title) {
        if (children.length > 0) {
          out.push({ path, name: String(route.name ?? path), title: meta.title, icon: meta.icon, children })
        }
      } else {
        // A route without a title (the layout) only contributes its children.
        out.push(...children)
      }
      continue
    }
    if (!meta.title) continue
    out.push({ path, name: String(route.name ?? path), title: meta.title, icon: meta.icon })
  }
  return out
}

/** The first page a user may open, for "/" and after login. */
export function firstAllowedPath(items: MenuItem[]): string | null {
  for (const item of items) {
    if (item.children?.length) {
      const inner = firstAllowedPath(item.children)
      if (inner) return inner
    } else {
      return item.path
    }
  }
  return null
}

/**
 * The menu entry to highlight for a path: the leaf whose path is the path itself or its
 * longest leading segments (a hidden detail page lights up its list: /members/12 → /members,
 * /orders/charge/NO → /orders/charge). Entries inside a group keep their own addresses, so
 * the first segment alone is not enough (/settings/customer-service is a leaf of 设置).
 */
export function activeMenuPath(items: readonly MenuItem[], path: string): string {
  let best = ''
  const visit = (list: readonly MenuItem[]) => {
    for (const item of list) {
      if (item.children?.length) visit(item.children)
      else if ((path === item.path || path.startsWith(`${item.path.replace(/\/$/, '')}/`)) && item.path.length > best.length) {
        best = item.path
      }
    }
  }
  visit(items)
  return best || path
}
