"""Notices for drivers: the outbox and its delivery as WeChat subscribe messages."""
