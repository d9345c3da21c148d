"""The emergency response (plan 5): started, raised or lowered, led, attested and terminated."""
