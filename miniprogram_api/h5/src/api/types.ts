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
}

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
