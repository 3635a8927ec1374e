"""Durations written as hours, minutes and seconds: ``2h``, ``45m``, ``1h30m``, ``90s``."""

import re

_PART = re.compile(r"(\d+)([hms])")
_SECONDS = {"h": 3600, "m": 60, "s": 1}


def parse_duration(text):
    """Seconds in ``text`` (ValueError when it is not a duration)."""
    text = text.strip()
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    number, unit = parts[0]
    return int(number) * _SECONDS[unit]
