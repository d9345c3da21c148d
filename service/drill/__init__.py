"""The drill runner: plays a scenario against a running service over HTTP (`drill run`)."""
