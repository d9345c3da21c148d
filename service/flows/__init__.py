"""The use cases: take a report, warn, respond, command, dispatch, act on an action, escalate,
keep a drill's clock."""
