"""Outbound notices: the deliverer that posts the outbox to subscriptions, and its formats."""
