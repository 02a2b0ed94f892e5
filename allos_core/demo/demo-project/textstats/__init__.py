"""textstats: small statistics for lists of numbers."""

from textstats.stats import mean, median, spread

__all__ = ["mean", "median", "spread"]
