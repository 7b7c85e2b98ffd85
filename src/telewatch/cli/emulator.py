"""CLI commands (emulator area)."""

from __future__ import annotations
