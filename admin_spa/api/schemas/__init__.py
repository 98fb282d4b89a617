"""Request and response schemas of the console's API, one module per area (they become
the OpenAPI document, and the console's TypeScript types through it)."""
