/**
 * A page's 导出 button: downloads `path` with the query the list uses now (so the file holds
 * exactly the rows the list finds), `exporting` true meanwhile; the API's Chinese message is
 * shown by download() on failure.
 */
import { ref } from 'vue'
import type { Query } from '@/api/http'
import { download } from '@/utils/download'

export function useExport(path: () => string, query: () => Query, fallback: string) {
  const exporting = ref(false)
  async function run(): Promise<void> {
    exporting.value = true
    try {
      await download(path(), query(), fallback)
    } catch {
      // the message is shown by download()
    } finally {
      exporting.value = false
    }
  }
  return { exporting, run }
}
