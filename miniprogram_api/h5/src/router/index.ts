import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { getToken } from '@/api/client'

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/stations' },
  {
    path: '/login',
    name: 'login',
    component: () => import('@/pages/LoginPage.vue'),
    meta: { public: true, title: '登录' },
  },
  {
    path: '/stations',
    name: 'stations',
    component: () => import('@/pages/StationsPage.vue'),
    meta: { title: '附近电站' },
  },
  {
    path: '/stations/:id(\\d+)',
    name: 'station',
    component: () => import('@/pages/StationPage.vue'),
    props: (r) => ({ id: Number(r.params.id) }),
    meta: { title: '电站详情' },
  },
  {
    path: '/scan',
    name: 'scan',
    component: () => import('@/pages/ScanPage.vue'),
    meta: { title: '扫码充电' },
  },
  {
    path: '/orders/:orderNo',
    name: 'order',
    component: () => import('@/pages/OrderPage.vue'),
    props: true,
    meta: { title: '充电订单' },
  },
  {
    path: '/hlht/orders/:orderNo',
    name: 'hlht-order',
    component: () => import('@/pages/HlhtOrderPage.vue'),
    props: true,
    meta: { title: '互联充电订单' },
  },
  {
    path: '/wallet',
    name: 'wallet',
    component: () => import('@/pages/WalletPage.vue'),
    meta: { title: '我的钱包' },
  },
  {
    path: '/wallet/refunds',
    name: 'refunds',
    component: () => import('@/pages/RefundsPage.vue'),
    meta: { title: '余额退款' },
  },
  {
    path: '/me',
    name: 'me',
    component: () => import('@/pages/MePage.vue'),
    meta: { title: '我的' },
  },
  {
    path: '/orders',
    name: 'orders',
    component: () => import('@/pages/OrdersPage.vue'),
    meta: { title: '我的订单' },
  },
  {
    path: '/coupons',
    name: 'coupons',
    component: () => import('@/pages/CouponsPage.vue'),
    meta: { title: '我的优惠券' },
  },
  {
    path: '/certification',
    name: 'certification',
    component: () => import('@/pages/CertificationPage.vue'),
    meta: { title: '司机认证' },
  },
  {
    path: '/password',
    name: 'password',
    component: () => import('@/pages/PasswordPage.vue'),
    meta: { title: '充电密码' },
  },
  { path: '/:rest(.*)*', redirect: '/stations' },
]

// history mode under /h5/ (vite's base): the server falls back to index.html for deep links
export const router = createRouter({ history: createWebHistory(import.meta.env.BASE_URL), routes })

router.beforeEach((to) => {
  if (!to.meta.public && !getToken()) {
    return { name: 'login', query: { redirect: to.fullPath } }
  }
  return true
})

router.afterEach((to) => {
  if (typeof to.meta.title === 'string') document.title = to.meta.title
})
