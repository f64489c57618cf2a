"""Live and paper trading: decide with the research code, orders exactly once, reconcile."""
