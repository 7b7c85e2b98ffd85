"""CLI commands (xref area)."""

from __future__ import annotations
