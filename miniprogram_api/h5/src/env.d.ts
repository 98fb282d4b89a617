/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Override the drivers' API prefix (default /api/mp/v1). */
  readonly VITE_API_BASE?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
