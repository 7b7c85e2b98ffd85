"""A local Telegram server that real, unmodified Telethon talks to over TCP.

Imports nothing from the rest of telewatch (an import-linter contract): only
the standard library and Telethon's TL layer. See docs/EMULATOR.md.
"""

from __future__ import annotations

from telewatch.emulator.rates import RateModel
from telewatch.emulator.scenario import Scenario, ScenarioError
from telewatch.emulator.server import Emulator, EmulatorThread

__all__ = ["Emulator", "EmulatorThread", "RateModel", "Scenario", "ScenarioError"]
