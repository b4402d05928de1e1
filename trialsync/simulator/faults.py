"""Fault profiles of the simulator: which request numbers fail, and how.

A profile is a name (`none`, `flaky`, `rate-limited`) or a JSON object with the fields of
`Faults`. Faults are deterministic by request number (the n-th request of the server's life),
so a test that runs the same jobs sees the same faults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields


class FaultProfileError(ValueError):
    """An unknown fault profile or field."""


@dataclass(frozen=True)
class Faults:
    rate_limit_every: int = 0  # every n-th request answers 429 ...
    rate_limit_burst: int = 1  # ... and so do the next burst-1 requests
    retry_after: int = 1  # seconds in the Retry-After header
    error_every: int = 0  # every n-th request answers 500
    slow_every: int = 0  # every n-th request waits slow_seconds first
    slow_seconds: float = 0.3
    drop_every: int = 0  # every n-th request drops the connection mid-body
    ignore_skip: tuple[str, ...] = field(default_factory=tuple)  # templates that ignore $skip
    odata_v4: tuple[str, ...] = field(default_factory=tuple)  # templates answering {value, @odata.*}

    def pick(self, number: int) -> str | None:
        """The fault for request `number` (1-based), or None."""
        if self.rate_limit_every and (number % self.rate_limit_every) < self.rate_limit_burst:
            if number >= self.rate_limit_every:
                return "429"
        if self.error_every and number % self.error_every == 0:
            return "500"
        if self.drop_every and number % self.drop_every == 0:
            return "drop"
        if self.slow_every and number % self.slow_every == 0:
            return "slow"
        return None


PROFILES = {
    "none": Faults(),
    "flaky": Faults(rate_limit_every=23, rate_limit_burst=2, error_every=17, drop_every=29, slow_every=31),
    "rate-limited": Faults(rate_limit_every=5, rate_limit_burst=2),
}


def parse_profile(text: str | None) -> Faults:
    """A profile by name, or a JSON object of Faults fields."""
    if not text:
        return Faults()
    if text in PROFILES:
        return PROFILES[text]
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FaultProfileError(
            f"unknown fault profile {text!r}: use one of {sorted(PROFILES)} or a JSON object"
        ) from exc
    known = {f.name for f in fields(Faults)}
    unknown = set(raw) - known
    if unknown:
        raise FaultProfileError(f"unknown fault fields {sorted(unknown)}; known: {sorted(known)}")
    for key in ("ignore_skip", "odata_v4"):
        if key in raw:
            raw[key] = tuple(raw[key])
    return Faults(**raw)
