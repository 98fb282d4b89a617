"""Helpers the tests share (conftest modules hold fixtures only)."""
