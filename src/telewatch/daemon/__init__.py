"""The daemon: ``run_daemon(settings, stop)`` archives the watched channels
until ``stop`` is set (see ``daemon.supervisor``)."""

from __future__ import annotations

from telewatch.daemon.supervisor import install_signal_handlers, merge_watchlist, run_daemon

__all__ = ["install_signal_handlers", "merge_watchlist", "run_daemon"]
