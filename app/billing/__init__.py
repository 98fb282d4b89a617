"""Billing: bills, settlement, occupancy fees, arrears, lost bills, abnormal orders and
corrections."""
