"""Parsing durations such as ``1h30m``."""

from durations.parse import parse_duration

__all__ = ["parse_duration"]
