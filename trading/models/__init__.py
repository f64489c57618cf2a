"""Models: one file each under ``trading/models/library``, a frozen parameter class and a
function from the feature frame to target weights. Research and live call the same function."""

from trading.models.registry import Model, Strategy, model, registered_models, strategies

__all__ = ["Model", "Strategy", "model", "registered_models", "strategies"]
