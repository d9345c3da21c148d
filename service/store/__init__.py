"""Persistence: engines and sessions, the write batch, and what several flows read and write."""
