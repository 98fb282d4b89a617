"""OCPP 1.6J adapter: codec (sans-IO) and the central-system message handler."""
