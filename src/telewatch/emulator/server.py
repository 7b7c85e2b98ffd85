"""The emulator server: accepts Telethon connections and drives the world.

:class:`Emulator` is an async context manager. It listens on TCP, serves
every connected client from one :class:`~telewatch.emulator.world.World`, and
exposes the mutations tests need (post, edit, delete, rename, make private,
faults). Mutations push updates to the connections of the account when it
has joined the channel; every mutation lands in the channel's pts log first,
so a client that missed a push recovers it through ``getChannelDifference``.

:class:`EmulatorThread` runs the same emulator on its own thread and event
loop for synchronous callers (a test driving a subprocess, the demo).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, overload

from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession
from telethon.tl import functions, types
from telethon.tl.tlobject import TLRequest

from telewatch.emulator import discussion, events, state
from telewatch.emulator.accounts import AccountMethods, EmulatedAccount, make_accounts
from telewatch.emulator.login import Account
from telewatch.emulator.methods import KeyState
from telewatch.emulator.rates import RateLimiter, RateModel
from telewatch.emulator.scenario import (
    Action,
    Scenario,
    ScenarioError,
    entity_list,
    missing_args,
    read_export,
)
from telewatch.emulator.transport import (
    ClientConnection,
    Incoming,
    ProtocolViolation,
    UnknownAuthKey,
    auth_key_id,
)
from telewatch.emulator.world import EmulatedChannel, RpcFailure, World, message_tl

log = logging.getLogger("telewatch.emulator")
T = TypeVar("T")

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_WRAPPERS = (
    functions.InvokeWithLayerRequest,
    functions.InitConnectionRequest,
    functions.InvokeAfterMsgRequest,
    functions.InvokeAfterMsgsRequest,
    functions.InvokeWithoutUpdatesRequest,
)


# Marks a push taken from the outbox but not yet written (no msg_id yet).
_UNSENT = 1 << 63


class _Client:
    """One live TCP connection and what the server knows about it."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.key: KeyState | None = None
        self.no_updates = False
        # Telegram starts pushing to a connection after its first real request.
        self.active = False
        # Pushes waiting to be written, each with the channels it moves.
        self.outbox: asyncio.Queue[tuple[bytes, tuple[int, ...]] | None] = asyncio.Queue()
        # Channel → msg_id of the latest push about it that the client has not
        # acknowledged yet (_UNSENT while still being written). TCP keeps order,
        # so an ack of msg_id M confirms every earlier push on this connection.
        self.unacked: dict[int, int] = {}
        self.retired = False

    def confirm(self, msg_ids: Sequence[int]) -> None:
        """The client acknowledged these server msg_ids (``msgs_ack``)."""
        if not msg_ids or not self.unacked:
            return
        top = max(msg_ids)
        for channel_id in [c for c, m in self.unacked.items() if m <= top]:
            del self.unacked[channel_id]

    def unconfirmed(self) -> set[int]:
        """Channels with pushes queued, in flight, or written but not acknowledged."""
        channels = set(self.unacked)
        while not self.outbox.empty():
            item = self.outbox.get_nowait()
            if item is not None:
                channels.update(item[1])
        return channels

    @property
    def receives_updates(self) -> bool:
        return self.active and not self.no_updates and self.key is not None and self.key.authorized


class SessionLocked(OSError):
    """The session file could not be written: another process (a running
    client) holds it locked. The message is the database's own reason."""


def session_address(path: Path) -> tuple[str, int] | None:
    """The (host, port) a Telethon session file points at, or None when the
    file does not exist or holds no address. Read-only: a running client
    holding the file open is not disturbed."""
    name = str(path)
    real = Path(name if name.endswith(".session") else name + ".session")
    if not real.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{real.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT server_address, port FROM sessions LIMIT 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    if row is None or not row[0] or not row[1]:
        return None
    return str(row[0]), int(row[1])


class Emulator(events.EventsMixin):
    """A local Telegram server for real Telethon clients (see docs/EMULATOR.md).

    ``speed`` scales the scenario timeline (2.0 = twice as fast); ``rate``
    sets the flood-wait model (default: Telegram-like budgets at real time).
    ``login_code`` and ``password`` configure ``telewatch login`` against it.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate: RateModel | None = None,
        speed: float = 1.0,
        login_code: str | None = None,
        password: str | None = None,
        difference_depth: int | None = None,
        accounts: int = 1,
        max_joined: int | None = None,
        file_reference_ttl: float | None = None,
    ) -> None:
        self.scenario = scenario
        self._bind = (host, port)
        self.speed = speed if scenario is None or speed != 1.0 else scenario.speed
        if rate is None and scenario is not None and scenario.rate:
            rate = _rate_from(scenario.rate)
        account_cfg = dict(scenario.account) if scenario is not None else {}
        self.account = Account(
            phone=str(account_cfg.get("phone", "+15550000000")),
            login_code=str(login_code or account_cfg.get("login_code", "12345")),
            password=password if password is not None else account_cfg.get("password"),
        )
        self.world = World()
        self.limiter = RateLimiter(rate or RateModel())
        depth = difference_depth or (scenario.difference_depth if scenario is not None else 1000)
        # Accounts 1…N (emulator/accounts.py); account 1 is self.account over
        # self.world with self.limiter, so one account behaves as it always did.
        self.accounts: list[EmulatedAccount] = make_accounts(
            self.world, self.account, self.limiter, accounts, max_joined
        )
        self.methods = AccountMethods(self.accounts[0], self._address, difference_depth=depth)
        self._methods = [self.methods] + [
            AccountMethods(a, self._address, difference_depth=depth, shared=self.methods)
            for a in self.accounts[1:]
        ]
        if file_reference_ttl is not None:
            self.methods.files.reference_ttl = file_reference_ttl
        self._keys: dict[int, KeyState] = {}
        self._clients: set[_Client] = set()
        self._suppressed: dict[int, int] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connections_total = 0
        self._started_at = time.monotonic()
        self.host, self.port = host, port
        # Index of the next timeline action to play (kept in --state files, so a
        # restored emulator carries on where it stopped instead of replaying).
        self.timeline_next = 0
        if scenario is not None:
            self._apply_scenario(scenario)

    # -- lifecycle -------------------------------------------------------------

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind and start accepting clients (and the timeline if the scenario autostarts)."""
        self._server = await asyncio.start_server(self._serve, self._bind[0], self._bind[1])
        sock = self._server.sockets[0].getsockname()
        self.host, self.port = str(sock[0]), int(sock[1])
        self._started_at = time.monotonic()
        log.info("emulator listening on %s:%d", self.host, self.port)
        if self.scenario is not None and self.scenario.autostart and self.scenario.timeline:
            self.start_timeline()

    async def stop(self) -> None:
        """Stop listening, drop every client and cancel background tasks."""
        if self._server is not None:
            self._server.close()
        await self.disconnect_all()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _address(self) -> tuple[str, int]:
        return self.host, self.port

    # -- sessions --------------------------------------------------------------

    def write_session(self, path: Path, *, authorized: bool = True, account: int = 1) -> Path:
        """Write a Telethon SQLiteSession (mode 0600) pointing at this emulator,
        logged in as ``account`` (1…N; see :mod:`telewatch.emulator.accounts`).

        A new auth key is registered (``authorized=False`` makes it a fresh,
        logged-out device for testing ``telewatch login``). If ``path`` already
        holds a session with a key, that key is kept and re-registered, so a
        client's update state survives an emulator restart. A session that
        points at any other server (a real Telegram login) is never touched:
        ``FileExistsError``. A file a running client holds locked:
        ``SessionLocked``. Telethon adds the ``.session`` suffix when
        missing; the real file path is returned."""
        index = self._account(account).index  # KeyError for an account not served
        name = str(path)
        real = Path(name if name.endswith(".session") else name + ".session")
        real.parent.mkdir(parents=True, exist_ok=True)
        if not real.exists():
            os.close(os.open(real, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(real, 0o600)
        try:
            key = self._write_key(real)
        except sqlite3.OperationalError as err:
            raise SessionLocked(str(err)) from None
        self._keys[auth_key_id(key)] = KeyState(key=key, authorized=authorized, account=index)
        return real

    def write_sessions(self, folder: Path) -> list[Path]:
        """One session per account: ``folder/account1.session`` …
        ``folder/accountN.session`` (as :meth:`write_session`)."""
        return [
            self.write_session(Path(folder) / f"account{a.index}.session", account=a.index)
            for a in self.accounts
        ]

    def _account(self, account: int) -> EmulatedAccount:
        if not 1 <= account <= len(self.accounts):
            raise KeyError(f"no account {account} in the emulator (it serves {len(self.accounts)})")
        return self.accounts[account - 1]

    def _write_key(self, real: Path) -> bytes:
        """Point the session file ``real`` at this emulator; its auth key
        (kept when it had one) is returned."""
        session = SQLiteSession(str(real))
        try:
            if session.auth_key is not None and session.server_address not in _LOOPBACK | {
                self.host
            }:
                raise FileExistsError(
                    f"{real} is a session for {session.server_address}, not the emulator; "
                    "choose another --session path"
                )
            key = session.auth_key.key if session.auth_key is not None else os.urandom(256)
            host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
            # Restarted on the session's own address (the usual restart beside a
            # running daemon, which holds the file open and may be writing it):
            # nothing to change, so nothing is written and nothing can be locked.
            if (session.auth_key is None) or (session.server_address, session.port) != (
                host,
                self.port,
            ):
                session.set_dc(2, host, self.port)
                session.auth_key = AuthKey(key)
                session.save()
        finally:
            session.close()
        os.chmod(real, 0o600)
        return key

    # -- state on disk ---------------------------------------------------------

    def save_state(self, path: Path) -> None:
        """Write the world, the known auth keys and the timeline position to
        ``path`` atomically (see :mod:`telewatch.emulator.state`)."""
        data = state.dump(self.world, self._keys, self.timeline_next)
        # Accounts 2…N (and a banned account 1): their joined channels and fate.
        # Account 1's joined channels are "joined"; one account writes nothing more.
        accounts = {
            str(a.index): {"joined": sorted(a.world.joined), "banned": a.banned}
            for a in self.accounts
            if a.index > 1 or a.banned
        }
        if accounts:
            data["accounts"] = accounts
        state.save(path, data)

    def load_state(self, path: Path) -> None:
        """Replace the world with the one saved in ``path`` (raises
        ``state.StateError``). Call before :meth:`start`."""
        data = state.load(path)
        self.timeline_next = state.restore(data, self.world, self._keys)
        try:
            for index, saved in dict(data.get("accounts", {})).items():
                if 1 <= int(index) <= len(self.accounts):
                    account = self.accounts[int(index) - 1]
                    if account.index > 1:
                        account.world.joined = {int(i) for i in saved["joined"]}
                    account.banned = bool(saved["banned"])
        except (KeyError, TypeError, ValueError) as err:
            raise state.StateError(
                f"{path}: the emulator state is damaged ({type(err).__name__}: {err})"
            ) from None
        for key in self._keys.values():
            if key.account > len(self.accounts):  # saved with more accounts than served now
                key.account, key.authorized = 1, False

    def _key_bytes(self, key_id: int) -> bytes | None:
        state = self._keys.get(key_id)
        return state.key if state is not None else None

    # -- connections -----------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = ClientConnection(reader, writer, self._key_bytes)
        client = _Client(conn)
        self._clients.add(client)
        self._connections_total += 1
        sender = asyncio.ensure_future(self._send_loop(client))
        try:
            while not conn.closed:
                batch = await conn.receive()
                if client.key is None and conn.key_id is not None:
                    client.key = self._keys[conn.key_id]
                for message in batch:
                    await self._handle(client, message)
        except UnknownAuthKey as err:
            log.info("client %s: %s", conn.peer, err)
            with contextlib.suppress(ConnectionError, OSError):
                await conn.send_transport_error(-404)
        except ProtocolViolation as err:
            log.info("closing client %s: %s", conn.peer, err)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            await conn.close()
            self._retire(client)
            client.outbox.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    def _retire(self, client: _Client) -> None:
        """Forget a closed connection; what it never confirmed becomes missed.

        A push written into a connection that then dies is lost for the
        client, and Telethon only notices when a *later* update of the same
        channel shows a pts gap (so the last post of a burst was lost for
        good). Like Telegram, which re-sends what a session did not
        acknowledge, the session's next connection is told
        ``updateChannelTooLong`` for those channels and fetches their
        difference. Idempotent.
        """
        self._clients.discard(client)
        if client.retired:
            return
        client.retired = True
        lost = client.unconfirmed()
        client.unacked.clear()
        if client.key is None or not client.key.authorized or not lost:
            return
        client.key.missed.update(lost)
        # The session may already have reconnected (the new connection's first
        # request can beat this one's teardown): tell its live connections now.
        for other in list(self._clients):
            if other.key is client.key and other.active and other.receives_updates:
                self._announce_missed(other)
                break

    async def _send_loop(self, client: _Client) -> None:
        while True:
            item = await client.outbox.get()
            if item is None:
                return
            payload, channels = item
            for channel_id in channels:
                client.unacked[channel_id] = _UNSENT
            if client.conn.closed:
                continue  # _retire collects these channels as missed
            try:
                msg_id = await client.conn.send(payload)
            except (ConnectionError, OSError):
                continue
            if msg_id is not None:
                for channel_id in channels:
                    if client.unacked.get(channel_id) == _UNSENT:
                        client.unacked[channel_id] = msg_id

    async def _handle(self, client: _Client, message: Incoming) -> None:
        obj = message.obj
        if isinstance(obj, functions.PingRequest | functions.PingDelayDisconnectRequest):
            await client.conn.send(bytes(types.Pong(msg_id=message.msg_id, ping_id=obj.ping_id)))
            return
        if isinstance(obj, types.MsgsAck):
            client.confirm(obj.msg_ids)
            return
        if not isinstance(obj, TLRequest):
            return  # resend requests and other service messages need no answer
        while isinstance(obj, _WRAPPERS):
            if isinstance(obj, functions.InvokeWithoutUpdatesRequest):
                client.no_updates = True
            obj = obj.query
        assert client.key is not None
        try:
            result = self._methods[client.key.account - 1].call(obj, client.key)
        except RpcFailure as err:
            body = bytes(types.RpcError(error_code=err.code, error_message=err.message))
        except Exception:
            log.exception("emulator failed on %s", type(obj).__name__)
            body = bytes(types.RpcError(error_code=500, error_message="INTERNAL_SERVER_ERROR"))
        else:
            body = result if isinstance(result, bytes) else bytes(result)
        await client.conn.send_result(message.msg_id, body)
        if not client.active and client.key.authorized:
            client.active = True
            self._announce_missed(client)

    def _announce_missed(self, client: _Client) -> None:
        # Updates this device missed while it had no connection: tell the client
        # which channels moved so it fetches their difference (Telegram does the
        # same with updateChannelTooLong after a long disconnect).
        assert client.key is not None
        view = self.accounts[client.key.account - 1].world
        missed = [
            self.world.channels[c] for c in sorted(client.key.missed) if c in self.world.channels
        ]
        client.key.missed.clear()
        missed = [c for c in missed if not c.private and c.id in view.joined]
        if missed and not client.no_updates:
            updates = types.Updates(
                updates=[types.UpdateChannelTooLong(channel_id=c.id, pts=c.pts) for c in missed],
                users=[],
                chats=view.chats_for(missed),
                date=_now(),
                seq=0,
            )
            client.outbox.put_nowait((bytes(updates), tuple(c.id for c in missed)))

    def _push(
        self,
        ch: EmulatedChannel,
        update: Any,
        *,
        push: bool = True,
        chats: list[Any] | None = None,
        users: list[Any] | None = None,
    ) -> None:
        """Send one update to every connection whose account joined ``ch``
        (each account's copy carries its own access hashes)."""
        members = [a for a in self.accounts if ch.id in a.world.joined and not a.banned]
        if not members:
            return
        if not push:
            return
        if self._suppressed.get(ch.id, 0) > 0:
            self._suppressed[ch.id] -= 1
            return
        chats = chats if chats is not None else self.world.chats_for([ch])
        for account in members:
            payload = bytes(
                types.Updates(
                    updates=[update],
                    users=users or [],
                    chats=account.localise(chats),
                    date=_now(),
                    seq=0,
                )
            )
            live_keys: set[int] = set()
            for client in list(self._clients):
                if (
                    client.receives_updates
                    and client.key is not None
                    and client.key.account == account.index
                    and not client.retired
                ):
                    client.outbox.put_nowait((payload, (ch.id,)))
                    live_keys.add(id(client.key))
            for key in self._keys.values():
                if key.authorized and key.account == account.index and id(key) not in live_keys:
                    key.missed.add(ch.id)

    async def disconnect_all(self) -> None:
        """Drop every client connection (Telethon will reconnect on its own)."""
        clients = list(self._clients)
        for client in clients:
            await client.conn.close()
            self._retire(client)

    # -- world mutations -------------------------------------------------------

    def add_channel(
        self,
        id: int,
        username: str | None,
        title: str,
        *,
        about: str = "",
        access_hash: int | None = None,
        subscribers: int = 0,
        megagroup: bool = False,
    ) -> None:
        """Create a channel (bare id; random access_hash unless given)."""
        self.world.add_channel(
            id,
            username,
            title,
            about=about,
            access_hash=access_hash,
            subscribers=subscribers,
            megagroup=megagroup,
        )

    def load_export(self, path: Path, *, username: str | None) -> int:
        """Load a Telegram Desktop ``result.json`` as a channel's history; returns its id.

        Creates the channel when unknown (title from the export). Raises
        ``ScenarioError`` for unreadable files."""
        export = read_export(Path(path))
        ch = self.world.channels.get(export.id)
        if ch is None:
            ch = self.world.add_channel(export.id, username, export.title)
        elif username:
            ch.username = username.lstrip("@")
        titles = {c.title: c.id for c in self.world.channels.values()}
        for msg in export.messages:
            fields: dict[str, Any] = {
                "entities": msg.entities,
                "media": msg.media,
                "reply_to": msg.reply_to,
                "edit_date": msg.edit_date,
                "views": msg.views,
            }
            if msg.fwd_name:
                origin = titles.get(msg.fwd_name)
                fields["fwd_from"] = (origin, 0) if origin is not None else None
                fields["fwd_date"] = msg.date
            self.world.add_message(
                ch, msg.text, date=msg.date, message_id=msg.id, log=False, **fields
            )
        return ch.id

    def post(
        self,
        channel_id: int,
        text: str,
        *,
        date: datetime | None = None,
        entities: Sequence[Any] = (),
        media: dict[str, Any] | None = None,
        fwd_from: tuple[int, int] | None = None,
        grouped_id: int | None = None,
        reply_to: int | None = None,
        views: int | None = None,
        push: bool = True,
    ) -> int:
        """Post a new message; returns its id and pushes UpdateNewChannelMessage.

        ``media={"type": "poll", "question", "answers", "votes"?, ...}`` posts
        a poll (emulator/events.py)."""
        ch = self.world.channel(channel_id)
        if media is not None and media.get("type") == "poll":
            media = events.poll_spec(media, f"poll in channel {channel_id}")
        msg = self.world.add_message(
            ch,
            text,
            date=date,
            entities=list(entities),
            media=media,
            fwd_from=fwd_from,
            grouped_id=grouped_id,
            reply_to=reply_to,
            views=views,
        )
        update = types.UpdateNewChannelMessage(message=message_tl(ch, msg), pts=ch.pts, pts_count=1)
        self._push(
            ch, update, push=push, chats=self.world.chats_for(self.world.forward_origins(ch, [msg]))
        )
        copy = discussion.add_copy(self.world, ch, msg)
        group = discussion.group_of(self.world, ch)
        if copy is not None and group is not None:
            self._push_new(group, copy)
        return msg.id

    def _push_new(self, group: EmulatedChannel, msg: Any) -> None:
        """Push a new group message (a discussion copy or a comment) with its
        author and the linked channel."""
        update = types.UpdateNewChannelMessage(
            message=message_tl(group, msg), pts=group.pts, pts_count=1
        )
        self._push(
            group,
            update,
            chats=self.methods._chats(group, [msg]),
            users=discussion.users_for(self.world, [msg]),
        )

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        """Create a user who can comment (``comment``)."""
        discussion.add_user(self.world, user_id, first_name, last_name=last_name, username=username)

    def link_discussion(self, channel_id: int, group_id: int) -> None:
        """Make megagroup ``group_id`` the discussion group of ``channel_id``;
        posts from now on get their discussion copy (existing ones too)."""
        ch, group = self.world.channel(channel_id), self.world.channel(group_id)
        discussion.link(self.world, ch, group)
        for mid in list(ch.live):
            if discussion.copy_of(group, mid) is None:
                discussion.add_copy(self.world, ch, ch.messages[mid], log=False)

    def comment(
        self,
        channel_id: int,
        post_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        date: datetime | None = None,
    ) -> int:
        """A user comments under a channel post (or replies to its comment
        ``reply_to``); returns the comment's id in the discussion group and
        pushes it to clients that joined the group."""
        ch = self.world.channel(channel_id)
        group, msg = discussion.add_comment(
            self.world, ch, post_id, user_id, text, reply_to=reply_to, date=date
        )
        self._push_new(group, msg)
        return msg.id

    def edit(
        self,
        channel_id: int,
        message_id: int,
        text: str,
        *,
        push: bool = True,
        media: dict[str, Any] | None = None,
    ) -> None:
        """Edit a message's text (sets edit_date) and push UpdateEditChannelMessage.
        ``media`` replaces its media (the old files stay downloadable)."""
        ch = self.world.channel(channel_id)
        msg = self.world.live_message(ch, message_id)
        if media is not None:
            self.methods.files.retire(ch.id, msg)
            msg.media = dict(media)
        msg.text = text
        msg.edit_date = max(_now(), msg.date)
        ch.append_event("edit", (message_id,))
        update = types.UpdateEditChannelMessage(
            message=message_tl(ch, msg), pts=ch.pts, pts_count=1
        )
        self._push(ch, update, push=push, users=discussion.users_for(self.world, [msg]))
        group = discussion.group_of(self.world, ch)
        copy = discussion.copy_of(group, message_id) if group is not None else None
        if group is not None and copy is not None and not copy.deleted:
            # Telegram edits the discussion copy along with the post.
            self.edit(group.id, copy.id, text, push=push)

    def delete(self, channel_id: int, message_ids: Sequence[int], *, push: bool = True) -> None:
        """Delete messages (kept in the truth, marked deleted) and push the deletion."""
        ch = self.world.channel(channel_id)
        ids = [self.world.live_message(ch, i).id for i in message_ids]
        for i in ids:
            ch.mark_deleted(i)
            discussion.comment_deleted(self.world, ch, ch.messages[i])
        ch.append_event("delete", ids)
        update = types.UpdateDeleteChannelMessages(
            channel_id=ch.id, messages=ids, pts=ch.pts, pts_count=1
        )
        self._push(ch, update, push=push)

    def set_views(
        self, channel_id: int, message_id: int, views: int, forwards: int | None = None
    ) -> None:
        """Set a message's view (and forward) counters; pushes the counters, no pts."""
        ch = self.world.channel(channel_id)
        msg = self.world.live_message(ch, message_id)
        msg.views = views
        if forwards is not None:
            msg.forwards = forwards
        self._push(
            ch, types.UpdateChannelMessageViews(channel_id=ch.id, id=message_id, views=views)
        )

    def set_reactions(self, channel_id: int, message_id: int, reactions: dict[str, int]) -> None:
        """Replace a message's reaction counts (emoji → count)."""
        msg = self.world.live_message(self.world.channel(channel_id), message_id)
        msg.reactions = dict(reactions)

    def pin(self, channel_id: int, message_id: int, pinned: bool = True) -> None:
        """Pin (or unpin) a message; ``messages.search`` with the pinned filter finds it."""
        msg = self.world.live_message(self.world.channel(channel_id), message_id)
        msg.pinned = pinned

    def set_folder(self, channel_id: int, folder: int) -> None:
        """Move a channel's dialog to a folder of the chat list (1 = archived chats)."""
        self.world.channel(channel_id).folder = folder

    def rename(self, channel_id: int, new_username: str | None) -> None:
        """Change the username; the old one answers USERNAME_NOT_OCCUPIED from now on."""
        ch = self.world.channel(channel_id)
        if ch.username:
            ch.old_usernames.add(ch.username)
        ch.username = new_username.lstrip("@") if new_username else None
        self._push(ch, types.UpdateChannel(channel_id=ch.id))

    def make_private(self, channel_id: int) -> None:
        """Make the channel private: every access answers CHANNEL_PRIVATE from now on."""
        ch = self.world.channel(channel_id)
        ch.private = True
        self._push(ch, types.UpdateChannel(channel_id=ch.id))
        for account in self.accounts:
            account.world.joined.discard(ch.id)

    def inject_flood(self, method: str, seconds: int, count: int = 1, *, account: int = 1) -> None:
        """The next ``count`` calls of ``method`` (e.g. "messages.GetHistory") by
        ``account`` answer FLOOD_WAIT_seconds."""
        self._account(account).limiter.inject(method, seconds, count)

    def hold_flood(self, method: str, seconds: float, *, account: int = 1) -> None:
        """Every call of ``method`` by ``account`` for the next ``seconds``
        answers FLOOD_WAIT_X, X = the seconds left (as Telegram keeps an
        hours-long resolve FloodWait); other accounts are not touched."""
        self._account(account).limiter.hold(method, seconds)

    def expire_file_references(self) -> None:
        """Every file reference handed out so far answers FILE_REFERENCE_EXPIRED."""
        self.methods.files.expire_references()

    def migrate_files(self, channel_id: int, message_id: int, dc: int) -> None:
        """The message's files live on DC ``dc``: upload.getFile answers FILE_MIGRATE_<dc>."""
        self.world.live_message(self.world.channel(channel_id), message_id)
        self.methods.files.migrate(channel_id, message_id, dc)

    def suppress_pushes(self, channel_id: int, count: int) -> None:
        """Do not push the channel's next ``count`` updates (a gap; they stay in the pts log)."""
        self.world.channel(channel_id)
        self._suppressed[channel_id] = self._suppressed.get(channel_id, 0) + count

    def too_long(self, channel_id: int) -> None:
        """The next getChannelDifference for the channel answers ChannelDifferenceTooLong."""
        self.world.channel(channel_id)
        self.methods.too_long.add(channel_id)

    def join(self, channel_id: int, *, account: int = 1) -> None:
        """Make the account a member, as if it had called channels.joinChannel
        (``max_joined`` is not checked)."""
        self.world.channel(channel_id)
        self._account(account).world.joined.add(channel_id)

    def ban(self, account: int) -> None:
        """Ban the account: every call of its sessions answers
        ``401 USER_DEACTIVATED_BAN`` from now on, and nothing is pushed to it."""
        self._account(account).banned = True

    def log_out(self, account: int) -> None:
        """Log the account out on the server side (as when the user ends the
        session from another device): its keys answer ``401
        AUTH_KEY_UNREGISTERED`` from their next call, and nothing is pushed
        to them."""
        index = self._account(account).index
        for key in self._keys.values():
            if key.account == index:
                key.authorized = False
                key.missed.clear()

    def access_hash(self, channel_id: int, *, account: int = 1) -> int:
        """The channel's access hash as ``account`` knows it."""
        ch = self.world.channel(channel_id)
        return self._account(account).world.access_hash_of(ch)

    # -- introspection ---------------------------------------------------------

    def truth(self) -> dict[str, Any]:
        """The world in the ``--dump-state`` JSON shape, with every file's
        SHA-256 (emulator/media.py)."""
        return self.methods.files.annotate(self.world.truth())

    def joined(self, channel_id: int, *, account: int = 1) -> bool:
        """True if the account has joined the channel."""
        return channel_id in self._account(account).world.joined

    @property
    def stats(self) -> dict[str, Any]:
        """Requests per method, flood waits sent, live and total client connections."""
        return {
            "requests": dict(self.methods.counts),
            "flood_waits": sum(m.flood_waits for m in self._methods),
            "clients": len(self._clients),
            "connections_total": self._connections_total,
        }

    # -- scenarios -------------------------------------------------------------

    def _apply_scenario(self, scenario: Scenario) -> None:
        for user in scenario.users:
            self.add_user(
                int(user["id"]),
                str(user.get("first_name") or f"user {user['id']}"),
                last_name=user.get("last_name"),
                username=user.get("username"),
            )
        for spec in scenario.channels:
            self.add_channel(
                spec.id,
                spec.username,
                spec.title,
                about=spec.about,
                access_hash=spec.access_hash,
                subscribers=spec.subscribers,
                megagroup=spec.megagroup,
            )
            if spec.export is not None:
                self.load_export(spec.export, username=spec.username)
            ch = self.world.channel(spec.id)
            for msg in spec.history:
                self.world.add_message(
                    ch,
                    msg.text,
                    date=msg.date,
                    message_id=msg.id,
                    log=False,
                    entities=msg.entities,
                    media=msg.media,
                    fwd_from=msg.fwd_from,
                    reply_to=msg.reply_to,
                    grouped_id=msg.grouped_id,
                    views=msg.views,
                    forwards=msg.forwards,
                    edit_date=msg.edit_date,
                    reactions=msg.reactions,
                )
            if spec.joined:
                self.world.joined.add(spec.id)
        for spec in scenario.channels:
            if spec.discussion is None:
                continue
            self.link_discussion(spec.id, spec.discussion)
            ch = self.world.channel(spec.id)
            for msg in spec.history:
                made: list[int] = []
                for c in msg.comments:
                    ref = c["reply_to_comment"]
                    _group, comment = discussion.add_comment(
                        self.world,
                        ch,
                        int(msg.id or 0),  # Scenario.load requires ids here
                        int(c["user"]),
                        c["text"],
                        reply_to=made[ref] if ref is not None else None,
                        date=c["date"],
                        log=False,
                    )
                    made.append(comment.id)

    def start_timeline(self) -> asyncio.Task[None]:
        """Start playing the scenario's timeline in the background and return at once.

        For scenarios without ``autostart`` (e.g. a demo that first waits for
        its daemon to go live). The task is cancelled by :meth:`stop`; call it
        from the emulator's loop (``EmulatorThread.call(lambda e: e.start_timeline())``).
        """
        return self._spawn(self.run_timeline())

    async def run_timeline(self) -> None:
        """Play the scenario's timeline (seconds from now, divided by ``speed``)."""
        if self.scenario is None:
            return
        start = time.monotonic()
        timeline = self.scenario.timeline
        # Restored from a --state file: carry on after the last action played,
        # with the remaining times counted from now.
        offset = (
            timeline[self.timeline_next - 1].at if 0 < self.timeline_next <= len(timeline) else 0.0
        )
        for index in range(self.timeline_next, len(timeline)):
            action = timeline[index]
            delay = (action.at - offset) / self.speed - (time.monotonic() - start)
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await self.apply(action)
            except (KeyError, ValueError) as err:
                log.warning("timeline step at %.1fs (%s) failed: %s", action.at, action.kind, err)
            self.timeline_next = index + 1

    async def apply(self, action: Action) -> None:
        """Perform one timeline action now.

        Raises ScenarioError when the step lacks an argument, KeyError when it
        names a channel or message the world does not have (or no longer has)."""
        a = action.args
        missing = missing_args(action.kind, a)
        if missing:
            raise ScenarioError(
                f"timeline action {action.kind!r} at {action.at}s is missing {', '.join(missing)}"
            )
        cid = int(a.get("channel", 0))
        if action.kind == "post":
            fwd = a.get("fwd_from")
            self.post(
                cid,
                str(a.get("text", "")),
                entities=entity_list(a.get("entities"), f"timeline at {action.at}s"),
                media=a.get("media"),
                fwd_from=(int(fwd[0]), int(fwd[1])) if fwd else None,
                grouped_id=a.get("grouped_id"),
                reply_to=a.get("reply_to"),
                views=a.get("views"),
                push=bool(a.get("push", True)),
            )
        elif action.kind == "edit":
            self.edit(cid, int(a["id"]), str(a["text"]), media=a.get("media"))
        elif action.kind == "delete":
            self.delete(cid, [int(i) for i in (a.get("ids") or [a["id"]])])
        elif action.kind == "rename":
            self.rename(cid, a.get("username"))
        elif action.kind == "make_private":
            self.make_private(cid)
        elif action.kind == "disconnect":
            await self.disconnect_all()
        elif action.kind == "flood":
            acct = int(a.get("account", 1))
            if a.get("hold"):
                self.hold_flood(str(a["method"]), float(a["seconds"]), account=acct)
            else:
                self.inject_flood(
                    str(a["method"]), int(a["seconds"]), int(a.get("count", 1)), account=acct
                )
        elif action.kind == "gap":
            self.suppress_pushes(cid, int(a.get("count", 1)))
        elif action.kind == "too_long":
            self.too_long(cid)
        elif action.kind == "vote":
            closed = a.get("closed")
            self.vote(
                cid,
                int(a["id"]),
                [int(v) for v in a["votes"]],
                closed=bool(closed) if closed is not None else None,
            )
        elif action.kind in ("pin", "unpin"):
            self.pin_post(cid, int(a["id"]), pinned=action.kind == "pin")
        elif action.kind == "title":
            self.set_title(cid, str(a["title"]))
        elif action.kind == "about":
            self.set_about(cid, str(a["about"]))
        elif action.kind == "photo":
            seed = a.get("seed")
            self.set_photo(cid, int(seed) if seed is not None else None)
        elif action.kind == "ban":
            self.ban(int(a["account"]))
        elif action.kind == "logout":
            self.log_out(int(a["account"]))
        elif action.kind == "comment":
            reply = a.get("reply_to")
            self.comment(
                cid,
                int(a["post"]),
                int(a["user"]),
                str(a["text"]),
                reply_to=int(reply) if reply is not None else None,
            )
        elif action.kind == "expire_file_references":
            self.expire_file_references()
        elif action.kind == "views":
            forwards = a.get("forwards")
            self.set_views(
                cid, int(a["id"]), int(a["views"]), int(forwards) if forwards is not None else None
            )


def _rate_from(cfg: dict[str, Any]) -> RateModel:
    budgets = {str(k): (int(v[0]), float(v[1])) for k, v in dict(cfg.get("budgets", {})).items()}
    return RateModel(
        scale=float(cfg.get("scale", 1.0)), budgets=budgets, enabled=bool(cfg.get("enabled", True))
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class EmulatorThread:
    """An :class:`Emulator` on its own thread and event loop, for synchronous code.

    Use as a context manager; ``call(fn)`` runs ``fn(emulator)`` on the
    emulator's loop and returns its result (awaiting it if it is a coroutine),
    so mutations are thread-safe::

        with EmulatorThread(scenario) as et:
            session = et.write_session(tmp / "a.session")
            et.call(lambda emu: emu.post(1500000001, "hello"))
    """

    def __init__(self, scenario: Scenario | None = None, **kwargs: Any) -> None:
        self._scenario = scenario
        self._kwargs = kwargs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._emulator: Emulator | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> EmulatorThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def emulator(self) -> Emulator:
        """The emulator (read its state only through :meth:`call`)."""
        if self._emulator is None:
            raise RuntimeError("EmulatorThread is not running")
        return self._emulator

    @property
    def host(self) -> str:
        return self.emulator.host

    @property
    def port(self) -> int:
        return self.emulator.port

    def start(self) -> None:
        """Start the thread and wait until the emulator listens."""
        self._thread = threading.Thread(target=self._main, name="telewatch-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run())
        except BaseException as err:
            self._error = err
            self._ready.set()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        async with Emulator(self._scenario, **self._kwargs) as emu:
            self._emulator = emu
            self._ready.set()
            await self._stop.wait()

    @overload
    def call(self, fn: Callable[[Emulator], Awaitable[T]], timeout: float = 30) -> T: ...

    @overload
    def call(self, fn: Callable[[Emulator], T], timeout: float = 30) -> T: ...

    def call(self, fn: Callable[[Emulator], Any], timeout: float = 30) -> Any:
        """Run ``fn(emulator)`` on the emulator's loop; returns its (awaited) result."""
        if self._loop is None:
            raise RuntimeError("EmulatorThread is not running")

        async def _invoke() -> Any:
            result = fn(self.emulator)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                return await result
            return result

        future: Future[Any] = asyncio.run_coroutine_threadsafe(_invoke(), self._loop)
        return future.result(timeout)

    def write_session(self, path: Path, *, authorized: bool = True, account: int = 1) -> Path:
        """Thread-safe :meth:`Emulator.write_session`."""
        return self.call(
            lambda emu: emu.write_session(path, authorized=authorized, account=account)
        )

    def truth(self) -> dict[str, Any]:
        """Thread-safe :meth:`Emulator.truth`."""
        return self.call(lambda emu: emu.truth())

    def stop(self) -> None:
        """Stop the emulator and join its thread (idempotent)."""
        if self._loop is not None and self._stop is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30)
        self._thread = None
