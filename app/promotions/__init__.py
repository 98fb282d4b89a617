"""Promotions: coupons, top-up offers, pricing groups and member discounts."""
