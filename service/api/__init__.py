"""The HTTP face: routers, dependencies, authentication, problem+json, pagination, CAP output."""
