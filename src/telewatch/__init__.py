"""telewatch: archive the Telegram channels that news articles cite, and cross-reference them."""

from __future__ import annotations

__version__ = "0.1.0"
