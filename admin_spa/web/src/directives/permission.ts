/**
 * `v-permission="'station.write'"` (or an array: any of them) removes the element when the
 * logged-in admin lacks the permission. The server enforces the same codes.
 */
import type { Directive, DirectiveBinding } from 'vue'
import { useUserStore } from '@/stores/user'

type Value = string | string[]

function apply(el: HTMLElement, binding: DirectiveBinding<Value>): void {
  const user = useUserStore()
  if (!user.can(binding.value)) {
    el.parentNode?.removeChild(el)
  }
}

export const permission: Directive<HTMLElement, Value> = {
  mounted: apply,
}
