"""CLI commands (dash area)."""

from __future__ import annotations
