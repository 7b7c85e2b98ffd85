"""`telewatch login` against the emulator: phone code, 2FA with real SRP, unauthorized sessions."""

from __future__ import annotations

from pathlib import Path

import pytest
from telethon import TelegramClient
from telethon.errors import (
    PasswordHashInvalidError,
    PhoneCodeInvalidError,
    SessionPasswordNeededError,
)

from telewatch.emulator import Emulator

PHONE = "+15550000000"


async def test_fresh_session_logs_in_with_code(tmp_path: Path) -> None:
    """An unauthorized session is refused until auth.signIn succeeds with the printed code."""
    async with Emulator() as emu:
        session = emu.write_session(tmp_path / "fresh", authorized=False)
        client = TelegramClient(str(session), 1, "x")
        await client.connect()
        try:
            assert not await client.is_user_authorized()
            await client.send_code_request(PHONE)
            with pytest.raises(PhoneCodeInvalidError):
                await client.sign_in(PHONE, code="00000")
            user = await client.sign_in(PHONE, code="12345")
            assert user.is_self
            assert await client.is_user_authorized()
        finally:
            await client.disconnect()


async def test_two_factor_login_checks_password_with_srp(tmp_path: Path) -> None:
    """With 2FA the code step asks for the password; a wrong one is refused, the right one logs in."""
    async with Emulator(login_code="24680", password="correct horse") as emu:
        session = emu.write_session(tmp_path / "twofa", authorized=False)
        client = TelegramClient(str(session), 1, "x")
        await client.connect()
        try:
            await client.send_code_request(PHONE)
            with pytest.raises(SessionPasswordNeededError):
                await client.sign_in(PHONE, code="24680")
            with pytest.raises(PasswordHashInvalidError):
                await client.sign_in(password="wrong horse")
            user = await client.sign_in(password="correct horse")
            assert user.is_self
            me = await client.get_me()
            assert me is not None and me.id == user.id
        finally:
            await client.disconnect()
