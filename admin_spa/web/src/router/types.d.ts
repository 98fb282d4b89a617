import 'vue-router'

declare module 'vue-router' {
  interface RouteMeta {
    /** Sidebar and tab title (Chinese). */
    title?: string
    /** Element Plus icon component name. */
    icon?: string
    /** Permission code (or any of several) needed to see and open the route. */
    permission?: string | string[]
    /** Not in the menu. */
    hidden?: boolean
    /** Reachable without logging in. */
    public?: boolean
  }
}
