"""Memory sizes in the marks, read as pytest-memray reads them.

pytest-memray's rule (its utils.parse_memory_string): a number, optional spaces, then B, KB,
MB, GB, TB or PB in any case, every unit a power of 1024: "24 MB" is 24 x 2^20 bytes. Like
pytest-memray, only the start of the text has to match ("24 MB" and "24 MB max" are the
same). memopt also takes the explicit binary spelling (KiB, MiB, GiB: the same values) and
a plain number of bytes (an int). The memopt command line (`memopt gate --max-peak`,
common/sizes.h) uses the other rule, MB = 10^6 bytes; docs/ci.md puts the two side by side.
"""
from __future__ import annotations

import re

_LIMIT = re.compile(r"(?P<quantity>\+?\d*\.\d+|\+?\d+)\s*(?P<unit>[KMGTP]i?B|B)", re.IGNORECASE)
_MULTIPLIER = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40, "PB": 2**50}


def parse_limit(value) -> int:
    """'24 MB' -> 25165824 (24 MiB), '1.5GiB' -> 1610612736, 4096 -> 4096."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"not a memory size: {value!r} (use e.g. '24 MB', which is 24 MiB as in pytest-memray)")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"negative memory size: {value}")
        return value
    match = _LIMIT.match(value)
    if not match:
        raise ValueError(f"not a memory size: {value!r} (use e.g. '24 MB', which is 24 MiB as in pytest-memray)")
    unit = match.group("unit").upper().replace("I", "")
    return int(float(match.group("quantity")) * _MULTIPLIER[unit])


def format_size(size: float) -> str:
    """25165824 -> '24.0 MiB': binary units, as pytest-memray prints them (its users read these
    lines); memopt's own reports use MB = 10^6 (docs/units.md says where each applies)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
