import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import 'element-plus/dist/index.css'
import './styles/index.css'

import App from './App.vue'
import { createAppRouter } from './router'
import { permission } from './directives/permission'
import { icons } from './icons'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(createAppRouter(pinia))
app.use(ElementPlus, { locale: zhCn })
for (const [name, component] of Object.entries(icons)) {
  app.component(name, component)
}
app.directive('permission', permission)
app.mount('#app')
