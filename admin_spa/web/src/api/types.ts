/**
 * Shapes of the admin API (/api/admin/v1): names for the schemas of the OpenAPI document,
 * whose types `make types` generates into ./schema.d.ts (never edit that file). A schema
 * changed on the server shows here as a type error in the pages that use it.
 *
 * What the document says is what the console may rely on: a response field it does not mark
 * required is optional here, a field whose type it does not give (a computed field on the
 * server) is `unknown`, and a decimal is a string.
 */
import type { components, paths } from './schema'

type Schemas = components['schemas']

/** The query string a list endpoint of the admin API accepts, e.g. `ListQuery<'/stations'>`. */
type ListQuery<P extends string> = paths[`/api/admin/v1${P}` & keyof paths] extends {
  get: { parameters: { query?: infer Q } }
}
  ? NonNullable<Q>
  : never

// --- auth --------------------------------------------------------------------------------

export type LoginResult = Schemas['LoginOut']
export type Me = Schemas['MeOut']
export type MeUser = Schemas['UserOut']
export type MeOperator = Schemas['OperatorBrief']
export type PermissionDef = Schemas['PermissionOut']
export type PermissionList = Schemas['PermissionList']

// --- operators, roles, admin users ---------------------------------------------------------

export type Operator = Schemas['OperatorOut']
export type OperatorPage = Schemas['OperatorPage']
export type OperatorQuery = ListQuery<'/operators'>
export type OperatorInput = Schemas['OperatorIn']
export type OperatorPatch = Schemas['OperatorPatch']
export type WeChatAnswer = Schemas['WeChatAnswerOut']
export type WeChatPayReadiness = Schemas['ReadinessOut']

export type Role = Schemas['RoleOut']
export type RoleRef = Schemas['RoleBrief']
export type RolePage = Schemas['RolePage']
export type RoleQuery = ListQuery<'/roles'>
export type RoleInput = Schemas['RoleIn']
export type RolePatch = Schemas['RolePatch']

export type AdminUser = Schemas['AdminUserOut']
export type AdminUserPage = Schemas['AdminUserPage']
export type AdminUserQuery = ListQuery<'/admin-users'>
export type AdminUserInput = Schemas['AdminUserIn']
export type AdminUserPatch = Schemas['AdminUserPatch']

// --- stations and piles --------------------------------------------------------------------

export type Station = Schemas['StationOut']
export type StationPage = Schemas['StationPage']
export type StationQuery = ListQuery<'/stations'>
export type StationInput = Schemas['StationIn']
export type StationPatch = Schemas['StationPatch']
export type StationStatus = NonNullable<StationInput['status']>

export type Connector = Schemas['ConnectorOut']
export type Pile = Schemas['PileOut']
export type PilePage = Schemas['PilePage']
export type PileQuery = ListQuery<'/piles'>
export type PileInput = Schemas['PileIn']
export type PilePatch = Schemas['PilePatch']
export type PilePassword = Schemas['PilePasswordOut']
export type PileConnectionEvent = Schemas['ConnectionEventOut']
export type PileConnectionEventPage = Schemas['PileConnectionEventPage']
export type PileProtocol = PileInput['protocol']
export type CurrentType = PileInput['current_type']
export type HardwareReplacement = Schemas['HardwareIn']
export type HardwareRecord = Schemas['HardwareOut']
export type HardwareList = Schemas['HardwareList']

// --- tariffs -------------------------------------------------------------------------------

export type TariffSegment = Schemas['Segment']
export type Tier = TariffSegment['tier']
export type TariffVersion = Schemas['TariffVersionOut']
export type TariffVersionList = Schemas['TariffVersionList']
export type Tariff = Schemas['TariffOut']
export type TariffPage = Schemas['TariffPage']
export type TariffQuery = ListQuery<'/tariffs'>
export type TariffCreate = Schemas['TariffIn']

// --- members and audit ---------------------------------------------------------------------

export type Member = Schemas['MemberOut']
export type MemberPage = Schemas['MemberPage']
export type MemberQuery = ListQuery<'/members'>

export type AuditLog = Schemas['AuditOut']
export type AuditPage = Schemas['AuditPage']
export type AuditQuery = ListQuery<'/audit-logs'>

// --- charge orders ---------------------------------------------------------------------------

export type OrderRow = Schemas['OrderRowOut']
export type OrderSearchPage = Schemas['OrderSearchPage']
export type OrderSearchQuery = ListQuery<'/orders'>
export type OrderDetail = Schemas['OrderDetailOut']
export type TimelineEvent = Schemas['TimelineEventOut']
export type MeterSample = Schemas['MeterSampleOut']
export type AbnormalOrder = Schemas['OrderOut']
export type AbnormalPage = Schemas['AbnormalPage']
export type AbnormalQuery = ListQuery<'/abnormal-orders'>
export type CorrectionInput = Schemas['CorrectionIn']
export type CorrectionResult = Schemas['CorrectionOut']
export type CorrectionPreviewInput = Schemas['CorrectionPreviewIn']
export type CorrectionPreview = Schemas['CorrectionPreviewOut']

// --- written by hand: no schema in the document ----------------------------------------------

/** What every `*Page` schema above shares (the server's PageMeta and its items), for code
 * that pages any list (usePagedList). */
export interface Paged<T> {
  items?: T[]
  total: number
  page: number
  page_size: number
}

// --- overview (概览) -------------------------------------------------------------------------

export type Dashboard = Schemas['DashboardOut']
export type DashboardDay = Schemas['DayOut']
export type DashboardTierShare = Schemas['TierShareOut']
export type DashboardStation = Schemas['StationRevenueOut']

// --- remote pile commands -----------------------------------------------------------------

export type PileCommandInput = Schemas['PileCommandIn']
export type PileCommandAnswer = Schemas['PileCommandOut']
export type PileCommandName = PileCommandInput['command']

// --- 运维: faults and disconnections -------------------------------------------------------

export type Fault = Schemas['FaultOut']
export type FaultPage = Schemas['FaultPage']
export type FaultQuery = ListQuery<'/faults'>
export type DisconnectionRow = Schemas['DisconnectionRowOut']
export type StationLoss = Schemas['StationLossOut']
export type EnergyLossPage = Schemas['LossPage']
export type UnsettledOrder = Schemas['UnsettledOut']
export type UnsettledOrderPage = Schemas['UnsettledOrderPage']
export type DisconnectionReport = Schemas['DisconnectionReport']

// --- member detail ------------------------------------------------------------------------

export type WalletEntry = Schemas['WalletEntryOut']
export type WalletEntryPage = Schemas['WalletEntryPage']
export type WalletAdjustInput = Schemas['WalletAdjustIn']
export type MemberCoupon = Schemas['CouponOut']
export type MemberCouponList = Schemas['CouponList']
export type CouponTemplate = Schemas['CouponTemplateOut']
export type CouponTemplatePage = Schemas['CouponTemplatePage']
export type CouponGrantInput = Schemas['GrantIn']

// --- station occupancy policy (case #19) --------------------------------------------------

export type OccupancyPolicy = Schemas['OccupancyPolicyOut']
export type OccupancyPolicyInput = Schemas['OccupancyPolicyIn']

// --- WeChat Pay statement reconciliation (财务对账) ----------------------------------------

export type StatementRun = Schemas['RunOut']
export type StatementRunPage = Schemas['StatementRunPage']
export type StatementMismatch = Schemas['MismatchOut']
export type StatementMismatchList = Schemas['MismatchList']
