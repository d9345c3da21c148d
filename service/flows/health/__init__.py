"""Whether the service can work: its database answers (GET /healthz)."""
