"""CLI commands (daemon area)."""

from __future__ import annotations
