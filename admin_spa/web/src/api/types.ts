/** Shapes of the admin API (/api/admin/v1), as the backend's schemas return them. */

export interface Paged<T> {
  items: T[]
  total: number
  page: number
  page_size?: number
}

export interface PageQuery {
  page?: number
  page_size?: number
  q?: string
}

export type OperatorKind = 'platform' | 'sub'

export interface MeUser {
  id: number
  username: string
  display_name: string
}

export interface MeOperator {
  id: number
  name: string
  kind: OperatorKind
  brand_color: string | null
  logo_url: string | null
}

export interface Me {
  user: MeUser
  operator: MeOperator
  permissions: string[]
}

export interface LoginResult {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  user: MeUser
}

export interface PermissionDef {
  code: string
  name: string
  group: string
}

export interface Operator {
  id: number
  name: string
  kind: OperatorKind
  parent_id: number | null
  contact_name: string | null
  contact_phone: string | null
  brand_color: string | null
  logo_url: string | null
  wechat_app_id: string | null
  wechat_app_secret_set: boolean
  wechat_mch_id: string | null
  wechat_mch_cert_serial?: string | null
  wechat_pay_configured: boolean
  created_at: string
}

export interface OperatorInput {
  name: string
  contact_name: string
  contact_phone: string
  brand_color: string
  logo_url: string
  wechat_app_id?: string
  wechat_app_secret?: string
  wechat_mch_id?: string
  wechat_mch_cert_serial?: string
  /** Write-only secrets: sent only when typed. */
  wechat_mch_private_key?: string
  wechat_apiv3_key?: string
}

export interface RoleRef {
  id: number
  name: string
}

export interface AdminUser {
  id: number
  username: string
  display_name: string
  operator_id: number
  operator_name: string
  role_ids: number[]
  roles: RoleRef[]
  is_active: boolean
  created_at: string
}

export interface AdminUserInput {
  username?: string
  password?: string
  display_name: string
  operator_id?: number
  role_ids: number[]
  is_active?: boolean
}

export interface Role {
  id: number
  name: string
  operator_id: number | null
  permissions: string[]
}

export interface RoleInput {
  name: string
  operator_id?: number
  permissions: string[]
}

export type StationStatus = 'active' | 'inactive'

export interface Station {
  id: number
  operator_id: number
  operator_name: string
  name: string
  address: string
  city: string
  /** Decimal strings on the wire (e.g. "113.947100"). */
  longitude: number | string
  latitude: number | string
  timezone: string
  status: StationStatus
  tariff_id: number | null
  tariff_name: string | null
  visible_to_operator_ids: number[]
  pile_count: number
  created_at: string
}

export interface StationInput {
  name: string
  address: string
  city: string
  longitude: number
  latitude: number
  timezone?: string
  operator_id?: number
  tariff_id?: number | null
  visible_to_operator_ids?: number[]
  status?: StationStatus
}

export type PileProtocol = 'ocpp16' | 'ykc'
export type CurrentType = 'AC' | 'DC'

export interface Connector {
  id: number
  number: number
  qr_payload: string
  status: string
}

export interface Pile {
  id: number
  code: string
  station_id: number
  station_name: string
  operator_id: number
  protocol: PileProtocol
  vendor: string
  model: string
  firmware: string | null
  serial_number?: string | null
  current_type: CurrentType
  rated_power_kw: number
  online: boolean
  last_seen_at?: string | null
  connectors: Connector[]
  created_at: string
}

export interface PileInput {
  code: string
  station_id: number
  protocol: PileProtocol
  vendor?: string
  model?: string
  firmware?: string
  serial_number?: string
  current_type: CurrentType
  rated_power_kw: number
  connector_count?: number
}

/** PATCH /piles/{id}: the code and protocol are fixed once a pile exists. */
export interface PilePatch {
  station_id?: number
  firmware?: string
  current_type?: CurrentType
  rated_power_kw?: number
}

export interface HardwareReplacement {
  vendor: string
  model: string
  firmware?: string
  serial_number?: string
  reason: string
}

export interface HardwareRecord {
  id: number
  vendor: string
  model: string
  firmware: string | null
  serial_number: string | null
  installed_at: string
  removed_at: string | null
  reason: string | null
}

export type Tier = 'sharp' | 'peak' | 'flat' | 'valley'

export interface TariffSegment {
  start: string
  end: string
  tier: Tier
  electricity_price: string
  service_price: string
}

export interface TariffVersion {
  id: number
  version: number
  created_at: string
  segments: TariffSegment[]
}

export interface Tariff {
  id: number
  operator_id: number
  name: string
  current_version: TariffVersion | null
  created_at: string
}

export interface TariffCreate {
  name: string
  operator_id?: number
  segments: TariffSegment[]
}

export type PricingGroup = 'none' | 'ride_hailing' | 'taxi'

export interface Member {
  id: number
  operator_id: number
  nickname: string | null
  phone: string | null
  pricing_group: PricingGroup
  balance_fen: number
  created_at: string
}

export interface AuditLog {
  id: number
  at: string
  actor_id: number | null
  actor_name: string | null
  operator_id: number | null
  action: string
  target_type: string
  target_id: number | string | null
  before: unknown
  after: unknown
  reason?: string | null
}
