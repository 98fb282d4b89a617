import { createApp } from 'vue'
import Vant, { Locale, showToast } from 'vant'
import zhCN from 'vant/es/locale/lang/zh-CN'
import 'vant/lib/index.css'
import App from './App.vue'
import { router } from './router'
import { configureClient } from './api/client'

Locale.use('zh-CN', zhCN)

configureClient({
  notify: (message) => showToast({ message, position: 'middle' }),
  unauthorized: () => {
    const here = router.currentRoute.value
    if (here.name !== 'login') {
      void router.replace({ name: 'login', query: { redirect: here.fullPath } })
    }
  },
})

createApp(App).use(Vant).use(router).mount('#app')
