"""Payments: WeChat Pay top-ups, refunds and the merchants that take them."""
