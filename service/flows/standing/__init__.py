"""The readiness register: standing duties of plan chapters 7 and 8.1 (design § Standing duties)."""
