/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Override the admin API prefix (default /api/admin/v1). */
  readonly VITE_API_BASE?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
