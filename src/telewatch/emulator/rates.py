"""A Telegram-like rate model: per account, per method request budgets.

Telegram does not publish its limits; these defaults follow what clients
observe in practice. ``messages.getHistory`` allows about 10 requests in any
30 s window, then answers ``FLOOD_WAIT_X`` with X = seconds until the oldest
request leaves the window. ``contacts.resolveUsername`` is the scarcest call:
a small budget, and each violation doubles the wait (1 min, 2 min, 4 min …
capped at a day) until the account has been quiet for a while.

Every duration is multiplied by ``scale``: ``RateModel(scale=0.01)`` is the
same model 100× faster, for tests. ``FLOOD_WAIT_X`` always carries whole
seconds (at least 1), as Telegram's does.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DEFAULT_BUDGETS: dict[str, tuple[int, float]] = {
    # method: (requests, window seconds)
    "messages.GetHistory": (10, 30.0),
    "channels.GetMessages": (30, 30.0),
    "messages.GetMessages": (30, 30.0),
    "updates.GetChannelDifference": (60, 30.0),
    "updates.GetDifference": (30, 30.0),
    "channels.GetFullChannel": (10, 30.0),
    "channels.GetChannels": (30, 30.0),
    "channels.JoinChannel": (5, 60.0),
    "contacts.ResolveUsername": (5, 60.0),
    "auth.SendCode": (5, 300.0),
    # Downloads (emulator/media.py): one request per chunk of up to 1 MiB.
    "upload.GetFile": (600, 30.0),
}

# Escalating methods: first wait, then doubled per violation, capped; forgiven after `quiet`.
ESCALATING: dict[str, tuple[float, float, float]] = {
    "contacts.ResolveUsername": (60.0, 86_400.0, 3_600.0),
}


@dataclass
class RateModel:
    """Per-method budgets, all durations multiplied by ``scale``.

    ``budgets`` overrides or extends :data:`DEFAULT_BUDGETS` (method →
    ``(requests, window_seconds)``); ``enabled=False`` turns rate limiting off
    (injected flood waits still apply).
    """

    scale: float = 1.0
    budgets: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    enabled: bool = True

    def budget(self, method: str) -> tuple[int, float] | None:
        """(requests, scaled window seconds) for a method, or None if unlimited."""
        found = self.budgets.get(method) or DEFAULT_BUDGETS.get(method)
        if found is None:
            return None
        return int(found[0]), float(found[1]) * self.scale


@dataclass
class _Escalation:
    violations: int = 0
    blocked_until: float = 0.0
    last_violation: float = 0.0


class RateLimiter:
    """Tracks one account's recent requests and decides FLOOD_WAIT answers."""

    def __init__(self, model: RateModel, clock: Callable[[], float] = time.monotonic) -> None:
        self.model = model
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}
        self._escalations: dict[str, _Escalation] = {}
        self._injected: dict[str, deque[int]] = {}
        self._held: dict[str, float] = {}

    def inject(self, method: str, seconds: int, count: int = 1) -> None:
        """Make the next ``count`` calls of ``method`` answer FLOOD_WAIT_``seconds``."""
        queue = self._injected.setdefault(method, deque())
        queue.extend([int(seconds)] * count)

    def hold(self, method: str, seconds: float) -> None:
        """A FloodWait as Telegram keeps one (an hours-long resolve ban): every
        call of ``method`` for the next ``seconds`` (not scaled) answers
        FLOOD_WAIT_X with X = the seconds still left, then calls are served again."""
        self._held[method] = max(self._held.get(method, 0.0), self._clock() + float(seconds))

    def check(self, method: str) -> int | None:
        """Record one call; return the FLOOD_WAIT seconds to answer, or None to serve it."""
        held = self._held.get(method)
        if held is not None:
            left = held - self._clock()
            if left > 0:
                return _whole_seconds(left)
            del self._held[method]
        injected = self._injected.get(method)
        if injected:
            return injected.popleft()
        if not self.model.enabled:
            return None
        budget = self.model.budget(method)
        if budget is None:
            return None
        limit, window = budget
        now = self._clock()
        esc_cfg = ESCALATING.get(method)
        if esc_cfg is not None:
            wait = self._escalating_block(method, now)
            if wait is not None:
                return wait
        recent = self._recent.setdefault(method, deque())
        while recent and recent[0] <= now - window:
            recent.popleft()
        if len(recent) < limit:
            recent.append(now)
            return None
        if esc_cfg is not None:
            return self._escalate(method, now, esc_cfg)
        return _whole_seconds(recent[0] + window - now)

    def _escalating_block(self, method: str, now: float) -> int | None:
        esc = self._escalations.get(method)
        if esc is None:
            return None
        if now < esc.blocked_until:
            return _whole_seconds(esc.blocked_until - now)
        _first, _cap, quiet = ESCALATING[method]
        if esc.violations and now - esc.last_violation > quiet * self.model.scale:
            esc.violations = 0
        return None

    def _escalate(self, method: str, now: float, cfg: tuple[float, float, float]) -> int:
        first, cap, _quiet = cfg
        esc = self._escalations.setdefault(method, _Escalation())
        esc.violations += 1
        esc.last_violation = now
        wait = min(first * 2 ** (esc.violations - 1), cap) * self.model.scale
        esc.blocked_until = now + wait
        return _whole_seconds(wait)


def _whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))
