/** Static routes. `meta.permission` decides both the menu and the guard. */
import { RouterView, type RouteRecordRaw } from 'vue-router'
import DefaultLayout from '@/layouts/DefaultLayout.vue'

/** Pages inside the layout; their order is the menu's order. */
export const layoutChildren: RouteRecordRaw[] = [
  {
    path: 'dashboard',
    name: 'dashboard',
    component: () => import('@/pages/dashboard/DashboardPage.vue'),
    meta: { title: '概览', icon: 'DataLine', permission: 'order.read' },
  },
  {
    path: 'orders',
    name: 'order-menu',
    component: RouterView,
    meta: { title: '订单', icon: 'Tickets' },
    children: [
      {
        path: 'charge',
        name: 'orders',
        component: () => import('@/pages/orders/OrderListPage.vue'),
        meta: { title: '充电订单', icon: 'List', permission: 'order.read' },
      },
      {
        path: 'abnormal',
        name: 'abnormal-orders',
        component: () => import('@/pages/orders/AbnormalOrderListPage.vue'),
        meta: { title: '异常订单', icon: 'Warning', permission: 'order.read' },
      },
      {
        path: 'charge/:orderNo',
        name: 'order-detail',
        component: () => import('@/pages/orders/OrderDetailPage.vue'),
        meta: { title: '订单详情', hidden: true, permission: 'order.read' },
      },
    ],
  },
  {
    path: 'stations',
    name: 'stations',
    component: () => import('@/pages/stations/StationListPage.vue'),
    meta: { title: '站点', icon: 'OfficeBuilding', permission: 'station.read' },
  },
  {
    path: 'piles',
    name: 'piles',
    component: () => import('@/pages/piles/PileListPage.vue'),
    meta: { title: '充电桩', icon: 'Lightning', permission: 'pile.read' },
  },
  {
    path: 'tariffs',
    name: 'tariffs',
    component: () => import('@/pages/tariffs/TariffListPage.vue'),
    meta: { title: '电价', icon: 'PriceTag', permission: 'tariff.read' },
  },
  {
    // the pages keep their own addresses (/members, /certifications, /refunds)
    path: 'member-center',
    name: 'member-menu',
    component: RouterView,
    meta: { title: '会员', icon: 'User' },
    children: [
      {
        path: '/members',
        name: 'members',
        component: () => import('@/pages/members/MemberListPage.vue'),
        meta: { title: '会员', icon: 'User', permission: 'member.read' },
      },
      {
        path: '/members/:id(\\d+)',
        name: 'member-detail',
        component: () => import('@/pages/members/MemberDetailPage.vue'),
        meta: { title: '会员详情', hidden: true, permission: 'member.read' },
      },
      {
        path: '/certifications',
        name: 'certifications',
        component: () => import('@/pages/certifications/CertificationListPage.vue'),
        meta: { title: '司机认证', icon: 'UserFilled', permission: 'certification.read' },
      },
      {
        path: '/refunds',
        name: 'refunds',
        component: () => import('@/pages/refunds/RefundListPage.vue'),
        meta: { title: '退款审核', icon: 'Sort', permission: 'refund.read' },
      },
    ],
  },
  {
    path: 'finance',
    name: 'finance-menu',
    component: RouterView,
    meta: { title: '财务', icon: 'Money' },
    children: [
      {
        path: 'topups',
        name: 'topups',
        component: () => import('@/pages/finance/TopupListPage.vue'),
        meta: { title: '充值记录', icon: 'Wallet', permission: 'order.read' },
      },
      {
        path: 'statements',
        name: 'statements',
        component: () => import('@/pages/finance/StatementRunListPage.vue'),
        meta: { title: '财务对账', icon: 'Money', permission: 'order.read' },
      },
    ],
  },
  // the address 财务对账 had before the 财务 menu: old links and bookmarks still open it
  { path: 'statements', redirect: '/finance/statements', meta: { hidden: true } },
  {
    path: 'marketing',
    name: 'marketing-menu',
    component: RouterView,
    meta: { title: '营销', icon: 'PriceTag' },
    children: [
      {
        path: 'coupons',
        name: 'coupon-templates',
        component: () => import('@/pages/marketing/CouponTemplateListPage.vue'),
        meta: { title: '优惠券', icon: 'Tickets', permission: 'member.read' },
      },
      {
        path: 'topup-offers',
        name: 'topup-offers',
        component: () => import('@/pages/marketing/TopupOfferListPage.vue'),
        meta: { title: '充值活动', icon: 'Wallet', permission: 'member.read' },
      },
      {
        path: 'member-pricing',
        name: 'member-pricing',
        component: () => import('@/pages/marketing/MemberPricingPage.vue'),
        meta: { title: '会员价', icon: 'Discount', permission: 'tariff.read' },
      },
    ],
  },
  {
    path: 'operations',
    name: 'operations-menu',
    component: RouterView,
    meta: { title: '运维', icon: 'Lightning' },
    children: [
      {
        path: 'faults',
        name: 'faults',
        component: () => import('@/pages/operations/FaultListPage.vue'),
        meta: { title: '故障记录', icon: 'Warning', permission: 'pile.read' },
      },
      {
        path: 'disconnections',
        name: 'disconnections',
        component: () => import('@/pages/operations/DisconnectionReportPage.vue'),
        meta: { title: '离线统计', icon: 'Document', permission: 'pile.read' },
      },
      {
        path: 'energy-loss',
        name: 'energy-loss',
        component: () => import('@/pages/operations/EnergyLossPage.vue'),
        meta: { title: '电量损耗', icon: 'DataLine', permission: 'order.read' },
      },
    ],
  },
  {
    path: 'settings',
    name: 'settings-menu',
    component: RouterView,
    meta: { title: '设置', icon: 'Key' },
    children: [
      {
        path: 'customer-service',
        name: 'customer-service',
        component: () => import('@/pages/customer-service/CustomerServicePhoneListPage.vue'),
        meta: { title: '客服电话', icon: 'Document', permission: 'settings.customer_service' },
      },
      {
        path: '/operators',
        name: 'operators',
        component: () => import('@/pages/operators/OperatorListPage.vue'),
        meta: { title: '运营商', icon: 'Shop', permission: 'operator.read' },
      },
      {
        path: '/admin-users',
        name: 'admin-users',
        component: () => import('@/pages/admin-users/AdminUserListPage.vue'),
        meta: { title: '管理员', icon: 'Avatar', permission: 'admin_user.read' },
      },
      {
        path: '/roles',
        name: 'roles',
        component: () => import('@/pages/roles/RoleListPage.vue'),
        meta: { title: '角色', icon: 'Key', permission: 'role.read' },
      },
      {
        path: '/audit-logs',
        name: 'audit-logs',
        component: () => import('@/pages/audit/AuditLogListPage.vue'),
        meta: { title: '审计日志', icon: 'Document', permission: 'audit.read' },
      },
      {
        path: 'promotion-links',
        name: 'promotion-links',
        component: () => import('@/pages/promotion-links/PromotionLinksPage.vue'),
        meta: { title: '推广链接', icon: 'Share', permission: 'operator.read' },
      },
      {
        path: '/hlht',
        name: 'hlht-partners',
        component: () => import('@/pages/hlht/PartnerListPage.vue'),
        meta: { title: '互联互通', icon: 'Share', permission: 'hlht.read' },
      },
      {
        path: '/hlht/customer-orders',
        name: 'hlht-customer-orders',
        component: () => import('@/pages/hlht/CustomerOrderListPage.vue'),
        meta: { title: '互联互通 · 我方车主订单', hidden: true, permission: 'hlht.read' },
      },
      {
        path: '/hlht/roaming-orders',
        name: 'hlht-roaming-orders',
        component: () => import('@/pages/hlht/RoamingOrderListPage.vue'),
        meta: { title: '互联互通 · 合作方车主订单', hidden: true, permission: 'hlht.read' },
      },
    ],
  },
  {
    path: '403',
    name: 'forbidden',
    component: () => import('@/pages/error/ForbiddenPage.vue'),
    meta: { title: '无权访问', hidden: true },
  },
]

export const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/pages/login/LoginPage.vue'),
    meta: { title: '登录', public: true, hidden: true },
  },
  {
    path: '/',
    name: 'layout',
    component: DefaultLayout,
    children: [
      { path: '', name: 'home', component: () => import('@/pages/home/HomePage.vue'), meta: { hidden: true } },
      ...layoutChildren,
    ],
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('@/pages/error/NotFoundPage.vue'),
    meta: { title: '页面不存在', public: true, hidden: true },
  },
]
