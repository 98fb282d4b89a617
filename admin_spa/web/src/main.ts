import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import {
  ArrowDown,
  Avatar,
  DataLine,
  Delete,
  Document,
  Key,
  Lightning,
  Lock,
  OfficeBuilding,
  Plus,
  PriceTag,
  Refresh,
  Search,
  Shop,
  Share,
  Sort,
  User,
  UserFilled,
  Discount,
  Tickets,
  Wallet,
} from '@element-plus/icons-vue'
import 'element-plus/dist/index.css'
import './styles/index.css'

import App from './App.vue'
import { createAppRouter } from './router'
import { permission } from './directives/permission'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(createAppRouter(pinia))
app.use(ElementPlus, { locale: zhCn })
// Icons are referred to by name (menu meta, `icon="Search"` props): register those in use.
const icons = { ArrowDown, Avatar, DataLine, Delete, Document, Key, Lightning, Lock, OfficeBuilding, Plus, PriceTag, Refresh, Search, Share, Shop, Sort, User, UserFilled, Discount, Tickets, Wallet }
for (const [name, component] of Object.entries(icons)) {
  app.component(name, component)
}
app.directive('permission', permission)
app.mount('#app')
