"""Administration: API tokens and notification subscriptions."""
