"""Request and response schemas of the drivers' API, one module per area (they become
the OpenAPI document).

Every input is bounded: strings by length and without control characters (PostgreSQL
refuses NUL), numbers by range, so odd input is a 422, never a 500.
"""
