"""Features: named polars expressions over candles and funding rates, one file per family.

A feature file under ``trading/features/library/`` registers itself with ``@feature``; nothing
else needs to change for it to be computed, stored, checked for look-ahead and offered to models.
"""

from trading.features.registry import Feature, feature, registered_features

__all__ = ["Feature", "feature", "registered_features"]
