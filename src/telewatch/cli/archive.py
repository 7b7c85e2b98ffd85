"""CLI commands (archive area)."""

from __future__ import annotations
