"""Events as people read them: the event, its timeline, the board, the evaluation (plan 6.1)."""
