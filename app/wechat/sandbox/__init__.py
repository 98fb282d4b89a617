"""A local fake of WeChat (mini-program APIs and WeChat Pay API v3) for tests and the demo."""
