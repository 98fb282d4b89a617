// The parts of the drivers' API the H5 pages read (miniprogram_api/schemas).

export type H5Config = {
  oa_app_id: string | null
  authorize_url: string | null
  cashier_url: string | null
}

export type LoginOut = {
  access_token: string
  token_type: string
  expires_in: number
  created: boolean
  driver: { id: number; nickname?: string | null; balance_fen?: number }
}

export type Price = {
  start: string
  end: string
  tier: 'sharp' | 'peak' | 'flat' | 'valley' | string
  electricity_price: string
  service_price: string
  member_service_price: string
  total_price: string
}

export type Brand = { id: number; name: string; brand_color: string | null; logo_url: string | null }

export type NearbyStation = {
  id: number
  name: string
  address: string
  city: string
  latitude: string
  longitude: string
  distance_m: number
  brand: Brand
  connectors: { ac_total: number; ac_free: number; dc_total: number; dc_free: number }
  current_price: Price | null
  /** a partner platform's station (互联互通), null for ours: its detail is asked with ?partner=true */
  partner?: PartnerMark | null
}

export type PartnerMark = { operator_id: string; name: string }

export type Page<T> = { total: number; page: number; page_size: number; items: T[] }

export type Connector = {
  id: number
  pile_id: number
  pile_code: string
  number: number
  current_type: 'AC' | 'DC' | string
  rated_power_w: number
  pile_online: boolean
  status: string
  free: boolean
}

export type StationDetail = {
  id: number
  name: string
  address: string
  city: string
  distance_m: number | null
  brand: Brand
  connectors: Connector[]
  price: {
    tariff_version_id: number
    timezone: string
    pricing_group: string
    service_discount_rate: string | null
    current: Price
    segments: Price[]
  } | null
  price_unavailable: { code: string; message: string } | null
  occupancy: { grace_minutes: number; price_per_minute: string; cap_fen: number | null } | null
}

export type CustomerService = {
  phone: string | null
  label: string | null
  start: string | null
  end: string | null
}

export const TIER_LABELS: Record<string, string> = {
  sharp: '尖',
  peak: '峰',
  flat: '平',
  valley: '谷',
}

export type ScanOut = {
  /** null for a partner's hlht:// code (see partner) */
  connector: Connector | null
  station: { id: number; name: string; address: string; brand: Brand } | null
  price: Price | null
  service_discount_rate: string | null
  balance_fen: number
  can_start: boolean
  reason: { code: string; message: string } | null
  /** a partner's hlht:// code: connector is null then */
  partner?: PartnerScan | null
}

export type PartnerScan = {
  operator_id: string
  name: string | null
  connector_id: string
  station_name: string | null
  station_address: string | null
  status: string
  /** the partner's ConnectorStatus as last synced (T/CEC 102.2) */
  connector_status?: number | null
  power_w?: number | null
  synced_at?: string | null
  /** the partner's price now; member_service_price is what this driver pays of the service */
  price?: PartnerPrice | null
  start_path: string
}

export type PartnerPrice = {
  start: string
  end: string
  electricity_price: string
  service_price: string
  member_service_price: string
  total_price: string
}

export type Bill = {
  final: boolean
  estimated: boolean
  energy_wh: number
  electricity_fen: number
  service_fen: number
  service_discount_fen: number
  occupancy_minutes: number
  occupancy_fen: number
  coupon_fen: number
  total_fen: number
}

export type LiveOrder = {
  order_no: string
  state: 'created' | 'starting' | 'charging' | 'stopping' | 'finished' | 'settled' | 'failed' | 'abnormal' | string
  station_id: number | null
  station_name: string
  pile_code: string
  connector_number: number | null
  pile_online: boolean
  can_stop: boolean
  hint: string | null
  energy_wh: number
  power_w: number | null
  soc_percent: number | null
  elapsed_seconds: number
  requested_at?: string
  started_at?: string | null
  stopped_at?: string | null
  failure_reason: string
  bill: Bill | null
}

export type StartOut = {
  order: LiveOrder
  repeated: boolean
  failure: { code: string; message: string } | null
}

export const ORDER_STATE_LABELS: Record<string, string> = {
  created: '已下单',
  starting: '启动中',
  charging: '充电中',
  stopping: '结束中',
  finished: '已结束',
  settled: '已结算',
  failed: '启动失败',
  abnormal: '异常',
}

/** the live page stops polling once the order is here */
export const FINAL_STATES = ['finished', 'settled', 'failed', 'abnormal']

// -- the wallet (issue 13): miniprogram_api/schemas/wallet.py -----------------------------

export type Wallet = { balance_fen: number; balance_yuan: string; arrears_fen: number; arrears_yuan: string }

export type WalletEntry = {
  id: number
  amount_fen: number
  balance_after_fen: number
  reason: string
  ref_type: string
  ref_id: string
  note: string
  created_at: string
}

export type TopUpOffer = {
  offer_id: number
  name: string
  min_topup_fen: number
  coupon_count: number
  total_fen: number
  total_is_upper_bound: boolean
  text: string
  items: { template_id: number; name: string; quantity: number; face_value_fen: number }[]
}

export type RequestPayment = {
  appId: string
  timeStamp: string
  nonceStr: string
  package: string
  signType: string
  paySign: string
}

export type TopUp = {
  out_trade_no: string
  amount_fen: number
  offer_id: number | null
  state: 'created' | 'paid' | 'closed' | string
  paid_at?: string | null
  created_at: string
}

export type TopUpStarted = TopUp & { payment: RequestPayment }

export type RefundPart = {
  out_refund_no: string
  amount_fen: number
  coupon_deduction_fen: number
  refund_fen: number
  coupon_deduction_note: string
  state: string
  fail_reason: string
}

export type Refund = {
  id: number
  amount_fen: number
  reason: string
  state: 'pending_review' | 'approved' | 'processing' | 'succeeded' | 'failed' | 'rejected' | string
  reject_reason: string
  fail_reason: string
  succeeded_fen: number
  created_at: string
  finished_at: string | null
  parts: RefundPart[]
}

// --- issue 13: my orders, coupons, certification, JS-SDK ---

export type OrderSummary = {
  order_no: string
  state: string
  station_name: string
  energy_wh: number
  energy_kwh: string
  total_fen: number | null
  requested_at: string
  started_at: string | null
  stopped_at: string | null
  /** a partner platform's order (互联互通): its page is /hlht/orders/<order_no> */
  partner?: PartnerMark | null
}

export type CouponListState = 'available' | 'used' | 'expired'

export type OwnCoupon = {
  id: number
  name: string
  kind: string
  kind_name: string
  amount_fen: number | null
  threshold_fen: number | null
  state: CouponListState | string
  state_name: string
  applies_to: string
  station_names: string[]
  expires_at: string
  /** the local last second, e.g. "2019-11-13 23:59:59" (case #10) */
  expires_local: string
  used_order_no: string | null
}

export type CertificationKind = 'ride_hailing' | 'taxi'
export type CertificationRole = 'id_card' | 'driving_licence' | 'vehicle_photo'

export type Certification = {
  id: number
  kind: CertificationKind | string
  state: 'pending' | 'approved' | 'rejected' | 'revoked' | string
  reject_reason: string
  revoke_reason: string
  submitted_at: string
  reviewed_at: string | null
  revoked_at: string | null
  files: { id: number; role: CertificationRole | string; content_type: string; size_bytes: number }[]
}

export type CurrentCertification = { pricing_group: string; application: Certification | null }

export const CERTIFICATION_KIND_LABELS: Record<string, string> = {
  ride_hailing: '网约车司机',
  taxi: '出租车司机',
}

export const CERTIFICATION_STATE_LABELS: Record<string, string> = {
  pending: '审核中',
  approved: '已通过',
  rejected: '已驳回',
  revoked: '已撤销',
}

export type JsSdkConfig = { appId: string; timestamp: number; nonceStr: string; signature: string }

/** GET /charging-password, POST /charging-password/reset (issue 13): the digits only in a
 * reset's answer — the platform keeps only the pile's digest of them */
export type ChargingPassword = {
  has_password: boolean
  issued_at: string | null
  password: string | null
}

// -- the coupon choice of an order (issue 13; miniprogram_api/schemas/orders.py MpCouponChoiceOut)

export type OrderCoupon = {
  id: number
  name: string
  kind: string
  amount_fen: number | null
  threshold_fen: number | null
  percent: string | null
  cap_fen: number | null
  valid_until: string
  usable: boolean
  refusal_code: string | null
  refusal: string | null
}

export type CouponChoice = {
  /** default: the best one is picked at settlement; none; chosen; final (settled) */
  choice: 'default' | 'none' | 'chosen' | 'final'
  selected_coupon_id: number | null
  coupons: OrderCoupon[]
}

// --- interconnection (T/CEC 102): our driver on a partner platform's pile ---

/** POST /hlht/orders */
export type HlhtStarted = {
  order_no: string
  state: string
  connector_code: string
  energy_wh: number
  charged_fen: number
}

/** a settled partner order's bill; estimated: the partner's bill has not come, priced by its policy */
export type HlhtBill = {
  estimated: boolean
  energy_wh: number
  energy_kwh: string
  electricity_fen: number | null
  service_fen: number | null
  total_fen: number
  settled_at: string | null
}

/** GET /hlht/orders/<no> and POST …/stop */
export type HlhtLive = {
  order_no: string
  state: 'starting' | 'charging' | 'stopping' | 'finished' | 'settled' | 'failed' | string
  partner_name: string
  station_name: string | null
  connector_code: string
  energy_wh: number
  energy_kwh: string
  /** so far (the partner's, or priced from its policy); the amount charged once settled */
  amount_fen: number
  elapsed_seconds: number
  can_stop: boolean
  hint: string | null
  started_at: string | null
  stopped_at: string | null
  bill: HlhtBill | null
}

/** a partner order's page stops polling here (finished still waits for the partner's bill) */
export const HLHT_FINAL_STATES = ['settled', 'failed']
