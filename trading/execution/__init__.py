"""Execution: net targets become rounded, routed, sliced orders with deterministic ids."""
