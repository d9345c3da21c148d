"""The HTTP routers, one per domain."""
