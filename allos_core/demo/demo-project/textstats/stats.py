"""Summary statistics for lists of numbers."""


def mean(values):
    """The arithmetic mean of ``values``."""
    if not values:
        raise ValueError("mean of an empty list")
    return sum(values) / len(values)


def median(values):
    """The middle value of ``values`` (the mean of the two middle ones for an even count)."""
    if not values:
        raise ValueError("median of an empty list")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2 == 0:
        return (ordered[middle] + ordered[middle + 1]) / 2
    return ordered[middle]


def spread(values):
    """The difference between the largest and the smallest value."""
    if not values:
        raise ValueError("spread of an empty list")
    return max(values) - min(values)
