"""Several accounts on one emulated server (docs/EMULATOR.md, "Accounts").

As on Telegram, the channels and their messages are the server's, while each
account has its own:

* **joined channels** (pushes go only to the connections of accounts that
  joined the channel; ``messages.getDialogs`` lists that account's);
* **access hashes**: a channel's hash differs per account, and a hash that
  account 1 learnt, sent by account 2, answers ``CHANNEL_INVALID``;
* **rate model**: its own :class:`RateLimiter` (a FloodWait for one account
  does not touch another);
* **limits and fate**: ``max_joined`` (``channels.joinChannel`` past it answers
  ``CHANNELS_TOO_MUCH``, as Telegram does past 500), a ban
  (``USER_DEACTIVATED_BAN`` for every call from then on) or a log-out (its
  keys answer ``AUTH_KEY_UNREGISTERED``).

Account 1 is the emulator's historical single account: its world is the
server's :class:`World` itself and its hashes are ``EmulatedChannel.access_hash``,
so a one-account emulator behaves and writes exactly as before. Accounts
2…N see the world through an :class:`AccountWorld`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from telethon.tl import functions, types

from telewatch.emulator.login import Account
from telewatch.emulator.methods import _ANONYMOUS, KeyState, Methods, method_name
from telewatch.emulator.rates import RateLimiter
from telewatch.emulator.world import SELF_USER_ID, EmulatedChannel, RpcFailure, World

MAX_ACCOUNTS = 1000


def account_hash(base_hash: int, index: int) -> int:
    """Account ``index``'s access hash of a channel whose account-1 hash is
    ``base_hash``: account 1 keeps ``base_hash``; the others get a stable
    63-bit hash of their own (derived, so that a saved world needs no table
    of them)."""
    if index == 1:
        return base_hash
    digest = hashlib.sha256(f"telewatch-emulator:{base_hash}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


class AccountWorld(World):
    """The server's world as account ``index`` (2…N) sees it: the same
    channels, messages and pts logs (every read and write goes to the base
    world), with the account's own joined set and access hashes."""

    _OWN = frozenset({"_base", "index", "joined"})

    def __init__(self, base: World, index: int) -> None:
        # No World.__init__: everything but the joined set is the base's.
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "joined", set())

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_base"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._base, name, value)

    def access_hash_of(self, ch: EmulatedChannel) -> int:
        return account_hash(ch.access_hash, self.index)

    def chats_for(self, channels: Iterable[EmulatedChannel]) -> list[types.TypeChat]:
        chats = super().chats_for(channels)
        for chat in chats:
            if isinstance(chat, types.Channel | types.ChannelForbidden):
                chat.access_hash = account_hash(chat.access_hash, self.index)
        return chats


@dataclass
class EmulatedAccount:
    """One account of the emulated server (see the module docstring)."""

    index: int
    login: Account
    limiter: RateLimiter
    world: World
    max_joined: int | None = None
    banned: bool = False

    @property
    def user_id(self) -> int:
        return SELF_USER_ID + self.index - 1

    def localise(self, chats: list[Any]) -> list[Any]:
        """``chats`` built for account 1 (``World.chats_for``), as this
        account sees them (its hashes and joined state)."""
        if self.index == 1:
            return chats
        channels = self.world.channels
        return self.world.chats_for(channels[c.id] for c in chats if c.id in channels)


def make_accounts(
    world: World, first: Account, first_limiter: RateLimiter, count: int, max_joined: int | None
) -> list[EmulatedAccount]:
    """Accounts 1…``count``: the first one over ``world`` itself with the
    emulator's login and limiter; the others with their own phone
    (+1555000000k−1), username (emulatedK), login code and password as the
    first, and their own limiter over the same rate model."""
    if not 1 <= count <= MAX_ACCOUNTS:
        raise ValueError(f"accounts must be between 1 and {MAX_ACCOUNTS}, got {count}")
    out = [EmulatedAccount(1, first, first_limiter, world, max_joined)]
    for index in range(2, count + 1):
        login = Account(
            phone=f"+1555{index - 1:07d}",
            login_code=first.login_code,
            password=first.password,
            username=f"emulated{index}",
        )
        out.append(
            EmulatedAccount(
                index,
                login,
                RateLimiter(first_limiter.model),
                AccountWorld(world, index),
                max_joined,
            )
        )
    return out


class AccountMethods(Methods):
    """The method table as one account answers it: its world view, login
    and limiter, its user id, ``max_joined`` and ban."""

    def __init__(
        self,
        account: EmulatedAccount,
        address: Callable[[], tuple[str, int]],
        *,
        difference_depth: int = 1000,
        shared: Methods | None = None,
    ) -> None:
        super().__init__(
            account.world,
            account.login,
            account.limiter,
            address,
            difference_depth=difference_depth,
        )
        self.emulated = account
        if shared is not None:
            # One server: forced TooLong answers, request counts and the file
            # server (references, expiry, DCs: emulator/media.py) are global.
            self.too_long = shared.too_long
            self.counts = shared.counts
            self.files = shared.files

    def call(self, request: Any, key: KeyState) -> Any:
        name = method_name(request)
        if (
            self.emulated.banned
            and key.authorized
            and name not in _ANONYMOUS
            and type(request) in self._table
        ):
            self.counts[name] = self.counts.get(name, 0) + 1
            raise RpcFailure(401, "USER_DEACTIVATED_BAN")
        return super().call(request, key)

    def _me(self) -> types.User:
        me = super()._me()
        me.id = self.emulated.user_id
        return me

    def _join(self, req: functions.channels.JoinChannelRequest, key: KeyState) -> Any:
        ch = self._channel(req.channel)
        limit = self.emulated.max_joined
        if limit is not None and ch.id not in self.world.joined and len(self.world.joined) >= limit:
            raise RpcFailure(400, "CHANNELS_TOO_MUCH")
        return super()._join(req, key)
