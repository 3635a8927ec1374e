"""Merging closed intervals ``(start, end)``."""


def merge(intervals):
    """The union of closed intervals, as sorted disjoint intervals."""
    out = []
    for start, end in sorted(intervals):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def total_length(intervals):
    """How much of the line the intervals cover."""
    return sum(end - start for start, end in merge(intervals))
