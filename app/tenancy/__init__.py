"""Tenancy: operators and sub-operators, their admins, roles and audit trail, their WeChat
accounts, and the drivers who are their members."""
