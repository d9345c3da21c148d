"""Actions: playbook duties dispatched to agencies, polled, acknowledged, completed, escalated."""
