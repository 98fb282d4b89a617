// Icons are referred to by name (menu meta `icon: 'Money'`, `icon="Search"` props on buttons):
// every name in use is registered here once; tests/unit/icons.spec.ts finds any that is not.
import {
  ArrowDown,
  ArrowLeft,
  Avatar,
  DataLine,
  Delete,
  Discount,
  Document,
  Download,
  Key,
  Lightning,
  List,
  Lock,
  Money,
  OfficeBuilding,
  Plus,
  PriceTag,
  Refresh,
  Search,
  Share,
  Shop,
  Sort,
  Tickets,
  User,
  UserFilled,
  Wallet,
  Warning,
} from '@element-plus/icons-vue'

export const icons = {
  ArrowDown, ArrowLeft, Avatar, DataLine, Delete, Discount, Document, Download, Key, Lightning,
  List, Lock, Money, OfficeBuilding, Plus, PriceTag, Refresh, Search, Share, Shop, Sort,
  Tickets, User, UserFilled, Wallet, Warning,
}
