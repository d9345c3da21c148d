"""Early warnings (plan 3.2.2): proposed by the grid side, published and lifted by an HQ."""
