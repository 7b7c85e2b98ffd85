"""RPC methods the emulator answers, one handler per Telethon request class.

Handlers take the decoded request (a Telethon ``TLRequest``) and return the
result TL object (or raw bytes for bare vectors); Telegram errors are raised
as :class:`~telewatch.emulator.world.RpcFailure`. Unknown methods answer
``400 INPUT_METHOD_INVALID``, so a client never hangs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telethon.tl import functions, types

from telewatch.emulator import discussion, events
from telewatch.emulator.login import Account
from telewatch.emulator.media import FileServer
from telewatch.emulator.transport import vector
from telewatch.emulator.world import (
    EmulatedChannel,
    EmulatedMessage,
    RpcFailure,
    World,
    message_tl,
    self_user,
)

if TYPE_CHECKING:
    from telewatch.emulator.rates import RateLimiter

log = logging.getLogger("telewatch.emulator")

# Account-wide pts: the emulated account has no private chats, so it never moves.
ACCOUNT_PTS = 1
# Methods a session may call before it has logged in.
_ANONYMOUS = {
    "help.GetConfig",
    "help.GetNearestDc",
    "auth.SendCode",
    "auth.SignIn",
    "auth.CheckPassword",
    "auth.LogOut",
    "account.GetPassword",
    "auth.ExportLoginToken",
    "langpack.GetLangPack",
}


@dataclass
class KeyState:
    """What the server knows about one auth key (one logged-in device)."""

    key: bytes
    authorized: bool
    # Channels whose updates this key missed while it had no live connection.
    missed: set[int] = field(default_factory=set)
    code_ok: bool = False
    # Which account (1…N, emulator/accounts.py) the key is logged in as.
    account: int = 1
    # The DC this key is authorised on (emulator/media.py: FILE_MIGRATE).
    dc: int = 2


def method_name(request: Any) -> str:
    """``messages.GetHistory`` for ``telethon.tl.functions.messages.GetHistoryRequest``."""
    module = type(request).__module__.rsplit(".", 1)[-1]
    name = type(request).__name__.removesuffix("Request")
    return name if module == "functions" else f"{module}.{name}"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Methods:
    """The method table over one :class:`World` and :class:`Account`.

    ``difference_depth``: a ``getChannelDifference`` further behind than this
    many events answers ``ChannelDifferenceTooLong``; ``too_long`` holds
    channels forced to answer it once (``Emulator.too_long``).
    """

    def __init__(
        self,
        world: World,
        account: Account,
        limiter: RateLimiter,
        address: Callable[[], tuple[str, int]],
        *,
        difference_depth: int = 1000,
    ) -> None:
        self.world = world
        self.account = account
        self.limiter = limiter
        self._address = address
        self.difference_depth = difference_depth
        self.too_long: set[int] = set()
        self.counts: dict[str, int] = {}
        self.flood_waits = 0
        self.files = FileServer(world)
        self._table: dict[type, Callable[[Any, KeyState], Any]] = {
            functions.help.GetConfigRequest: self._get_config,
            functions.help.GetNearestDcRequest: self._nearest_dc,
            functions.users.GetUsersRequest: self._get_users,
            functions.updates.GetStateRequest: self._get_state,
            functions.updates.GetDifferenceRequest: self._get_difference,
            functions.updates.GetChannelDifferenceRequest: self._get_channel_difference,
            functions.contacts.ResolveUsernameRequest: self._resolve_username,
            functions.channels.GetChannelsRequest: self._get_channels,
            functions.channels.GetFullChannelRequest: self._get_full_channel,
            functions.channels.JoinChannelRequest: self._join,
            functions.channels.LeaveChannelRequest: self._leave,
            functions.channels.GetMessagesRequest: self._channel_messages,
            functions.messages.GetMessagesRequest: self._plain_messages,
            functions.messages.GetHistoryRequest: self._get_history,
            functions.messages.GetMessagesViewsRequest: self._get_views,
            functions.messages.GetDialogsRequest: self._get_dialogs,
            functions.messages.GetDialogFiltersRequest: self._get_dialog_filters,
            functions.messages.SearchRequest: self._search,
            functions.messages.GetRepliesRequest: self._get_replies,
            functions.messages.GetDiscussionMessageRequest: self._get_discussion_message,
            functions.auth.SendCodeRequest: self._send_code,
            functions.auth.SignInRequest: self._sign_in,
            functions.auth.CheckPasswordRequest: self._check_password,
            functions.auth.LogOutRequest: self._log_out,
            functions.account.GetPasswordRequest: self._get_password,
            functions.upload.GetFileRequest: self._get_file,
        }

    # -- entry point -----------------------------------------------------------

    def call(self, request: Any, key: KeyState) -> Any:
        """Run one request; returns a TL object or raw bytes, raises RpcFailure."""
        name = method_name(request)
        self.counts[name] = self.counts.get(name, 0) + 1
        handler = self._table.get(type(request))
        if handler is None:
            log.info("unsupported method %s", name)
            raise RpcFailure(400, "INPUT_METHOD_INVALID")
        if not key.authorized and name not in _ANONYMOUS:
            raise RpcFailure(401, "AUTH_KEY_UNREGISTERED")
        wait = self.limiter.check(name)
        if wait is not None:
            self.flood_waits += 1
            raise RpcFailure(420, f"FLOOD_WAIT_{wait}")
        return handler(request, key)

    # -- helpers ---------------------------------------------------------------

    def _me(self) -> types.User:
        return self_user(
            phone=self.account.phone,
            first_name=self.account.first_name,
            username=self.account.username,
        )

    def _channel(self, peer: Any) -> EmulatedChannel:
        if isinstance(peer, types.InputPeerChannel | types.InputChannel):
            return self.world.checked(peer.channel_id, peer.access_hash)
        if isinstance(peer, types.InputPeerChannelFromMessage | types.InputChannelFromMessage):
            ch = self.world.channels.get(peer.channel_id)
            if ch is None:
                raise RpcFailure(400, "CHANNEL_INVALID")
            return self.world.checked(ch.id, self.world.access_hash_of(ch))
        raise RpcFailure(400, "PEER_ID_INVALID")

    def _messages_result(self, ch: EmulatedChannel, msgs: list[EmulatedMessage], count: int) -> Any:
        return types.messages.ChannelMessages(
            pts=ch.pts,
            count=count,
            messages=[message_tl(ch, m) for m in msgs],
            topics=[],
            chats=self._chats(ch, msgs),
            users=discussion.users_for(self.world, msgs),
        )

    def _chats(self, ch: EmulatedChannel, msgs: list[EmulatedMessage]) -> list[Any]:
        """The channel, forward origins and, for a discussion group, its channel
        (the sender of its discussion copies)."""
        chans = self.world.forward_origins(ch, msgs)
        linked = (
            self.world.channels.get(ch.linked_chat_id)
            if ch.megagroup and ch.linked_chat_id
            else None
        )
        if linked is not None and not linked.private:
            chans.append(linked)
        return self.world.chats_for(chans)

    # -- connection and account ------------------------------------------------

    def _get_config(self, _req: Any, _key: KeyState) -> types.Config:
        host, port = self._address()
        now = _now()
        return types.Config(
            date=now,
            expires=datetime.fromtimestamp(time.time() + 3600, UTC),
            test_mode=False,
            this_dc=2,
            dc_options=[types.DcOption(id=2, ip_address=host, port=port, static=True)],
            dc_txt_domain_name="emulator.invalid",
            chat_size_max=200,
            megagroup_size_max=200000,
            forwarded_count_max=100,
            online_update_period_ms=210000,
            offline_blur_timeout_ms=5000,
            offline_idle_timeout_ms=30000,
            online_cloud_timeout_ms=300000,
            notify_cloud_delay_ms=30000,
            notify_default_delay_ms=1500,
            push_chat_period_ms=60000,
            push_chat_limit=2,
            edit_time_limit=172800,
            revoke_time_limit=2147483647,
            revoke_pm_time_limit=2147483647,
            rating_e_decay=2419200,
            stickers_recent_limit=200,
            channels_read_media_period=604800,
            call_receive_timeout_ms=20000,
            call_ring_timeout_ms=90000,
            call_connect_timeout_ms=30000,
            call_packet_timeout_ms=10000,
            me_url_prefix="https://t.me/",
            caption_length_max=1024,
            message_length_max=4096,
            webfile_dc_id=2,
        )

    def _nearest_dc(self, _req: Any, _key: KeyState) -> types.NearestDc:
        return types.NearestDc(country="ZZ", this_dc=2, nearest_dc=2)

    def _get_users(self, req: functions.users.GetUsersRequest, _key: KeyState) -> bytes:
        users: list[bytes] = []
        for wanted in req.id:
            if isinstance(wanted, types.InputUserSelf) or (
                isinstance(wanted, types.InputUser) and wanted.user_id == self._me().id
            ):
                users.append(bytes(self._me()))
        return vector(users)

    def _send_code(self, req: functions.auth.SendCodeRequest, _key: KeyState) -> Any:
        if not req.phone_number or not req.phone_number.lstrip("+").isdigit():
            raise RpcFailure(400, "PHONE_NUMBER_INVALID")
        return self.account.send_code(req.phone_number)

    def _authorization(self, key: KeyState) -> types.auth.Authorization:
        key.authorized = True
        key.code_ok = False
        return types.auth.Authorization(user=self._me())

    def _sign_in(self, req: functions.auth.SignInRequest, key: KeyState) -> Any:
        error = self.account.code_ok(req.phone_code_hash, req.phone_code or "")
        if error is not None:
            raise RpcFailure(400, error)
        if self.account.password is not None:
            key.code_ok = True
            raise RpcFailure(401, "SESSION_PASSWORD_NEEDED")
        return self._authorization(key)

    def _get_password(self, _req: Any, _key: KeyState) -> types.account.Password:
        return self.account.password_info()

    def _check_password(self, req: functions.auth.CheckPasswordRequest, key: KeyState) -> Any:
        error = self.account.check_password(req.password)
        if error is not None:
            raise RpcFailure(400, error)
        return self._authorization(key)

    def _log_out(self, _req: Any, key: KeyState) -> types.auth.LoggedOut:
        key.authorized = False
        return types.auth.LoggedOut()

    def _get_file(self, req: functions.upload.GetFileRequest, key: KeyState) -> Any:
        return self.files.get_file(req, key.dc)

    # -- updates ---------------------------------------------------------------

    def _get_state(self, _req: Any, _key: KeyState) -> types.updates.State:
        return types.updates.State(pts=ACCOUNT_PTS, qts=0, date=_now(), seq=0, unread_count=0)

    def _get_difference(self, req: functions.updates.GetDifferenceRequest, key: KeyState) -> Any:
        # The account has no pts of its own to replay; what it can have missed is
        # channel updates, announced as updateChannelTooLong so that the client
        # fetches each channel's difference (as Telegram does for busy channels).
        since = req.date.timestamp() - 1 if req.date else 0.0
        changed = set(key.missed)
        for cid in self.world.joined:
            ch = self.world.channels.get(cid)
            if ch is not None and ch.log and ch.log[-1].wall_time >= since:
                changed.add(cid)
        key.missed.clear()
        chans = [self.world.channels[c] for c in sorted(changed) if c in self.world.channels]
        chans = [c for c in chans if not c.private]
        state = types.updates.State(pts=ACCOUNT_PTS, qts=0, date=_now(), seq=0, unread_count=0)
        if not chans:
            return types.updates.DifferenceEmpty(date=state.date, seq=0)
        return types.updates.Difference(
            new_messages=[],
            new_encrypted_messages=[],
            other_updates=[types.UpdateChannelTooLong(channel_id=c.id, pts=c.pts) for c in chans],
            chats=self.world.chats_for(chans),
            users=[],
            state=state,
        )

    def _get_channel_difference(
        self, req: functions.updates.GetChannelDifferenceRequest, _key: KeyState
    ) -> Any:
        ch = self._channel(req.channel)
        if req.pts <= 0:
            raise RpcFailure(400, "PERSISTENT_TIMESTAMP_EMPTY")
        if req.pts > ch.pts:
            raise RpcFailure(400, "PERSISTENT_TIMESTAMP_INVALID")
        limit = max(1, min(req.limit or 100, 100_000))
        events = self.world.events_after(ch, req.pts)
        chats = self.world.chats_for([ch])
        if not events:
            return types.updates.ChannelDifferenceEmpty(pts=ch.pts, final=True, timeout=30)
        if ch.id in self.too_long or len(events) > self.difference_depth:
            self.too_long.discard(ch.id)
            latest, _ = self.world.history(
                ch,
                offset_id=0,
                offset_date=None,
                add_offset=0,
                limit=min(limit, 100),
                max_id=0,
                min_id=0,
            )
            top = latest[0].id if latest else 0
            dialog = _dialog(ch, top)
            return types.updates.ChannelDifferenceTooLong(
                dialog=dialog,
                messages=[message_tl(ch, m) for m in latest],
                chats=chats,
                users=discussion.users_for(self.world, latest),
                final=True,
                timeout=30,
            )
        batch = events[:limit]
        final = len(batch) == len(events)
        new_ids: list[int] = []
        other: list[Any] = []
        batch_new = {e.message_ids[0] for e in batch if e.kind == "new"}
        for event in batch:
            if event.kind == "new":
                msg = ch.messages[event.message_ids[0]]
                if not msg.deleted:
                    new_ids.append(msg.id)
            elif event.kind == "edit":
                msg = ch.messages[event.message_ids[0]]
                # A message both posted and edited within the range is sent once, as it is now.
                if msg.id not in batch_new and not msg.deleted:
                    other.append(
                        types.UpdateEditChannelMessage(
                            message=message_tl(ch, msg), pts=event.pts, pts_count=1
                        )
                    )
            elif event.kind in ("pin", "unpin"):
                other.append(
                    types.UpdatePinnedChannelMessages(
                        channel_id=ch.id,
                        messages=list(event.message_ids),
                        pts=event.pts,
                        pts_count=1,
                        pinned=event.kind == "pin",
                    )
                )
            elif event.kind == "delete":
                gone = [i for i in event.message_ids if i not in batch_new]
                if gone:
                    other.append(
                        types.UpdateDeleteChannelMessages(
                            channel_id=ch.id, messages=gone, pts=event.pts, pts_count=1
                        )
                    )
        msgs = [ch.messages[i] for i in new_ids]
        edited = [ch.messages[e.message_ids[0]] for e in batch if e.kind == "edit"]
        return types.updates.ChannelDifference(
            pts=batch[-1].pts,
            new_messages=[message_tl(ch, m) for m in msgs],
            other_updates=other,
            chats=self._chats(ch, msgs),
            users=discussion.users_for(self.world, msgs + edited),
            final=final,
            timeout=30 if final else None,
        )

    # -- channels --------------------------------------------------------------

    def _resolve_username(
        self, req: functions.contacts.ResolveUsernameRequest, _key: KeyState
    ) -> Any:
        name = (req.username or "").lstrip("@")
        if not name or not name.replace("_", "").isalnum() or len(name) < 4:
            raise RpcFailure(400, "USERNAME_INVALID")
        if self.account.username and name.lower() == self.account.username.lower():
            me = self._me()
            return types.contacts.ResolvedPeer(peer=types.PeerUser(me.id), chats=[], users=[me])
        ch = self.world.by_username(name)
        if ch is None:
            raise RpcFailure(400, "USERNAME_NOT_OCCUPIED")
        return types.contacts.ResolvedPeer(
            peer=types.PeerChannel(ch.id), chats=self.world.chats_for([ch]), users=[]
        )

    def _get_channels(self, req: functions.channels.GetChannelsRequest, _key: KeyState) -> Any:
        chats: list[Any] = []
        for wanted in req.id:
            ch = self.world.channels.get(getattr(wanted, "channel_id", 0))
            if ch is None or self.world.access_hash_of(ch) != getattr(wanted, "access_hash", None):
                raise RpcFailure(400, "CHANNEL_INVALID")
            chats.extend(self.world.chats_for([ch]))
        return types.messages.Chats(chats=chats)

    def _get_full_channel(
        self, req: functions.channels.GetFullChannelRequest, _key: KeyState
    ) -> Any:
        ch = self._channel(req.channel)
        top = max((m.id for m in ch.messages.values() if not m.deleted), default=0)
        full = types.ChannelFull(
            id=ch.id,
            about=ch.about,
            read_inbox_max_id=top,
            read_outbox_max_id=0,
            unread_count=0,
            chat_photo=events.photo_tl(ch.photo, ch.created),
            notify_settings=types.PeerNotifySettings(),
            bot_info=[],
            pts=ch.pts,
            participants_count=ch.subscribers,
            pinned_msg_id=max(events.pinned_ids(ch), default=None),
            linked_chat_id=ch.linked_chat_id,
        )
        chans = [ch]
        linked = self.world.channels.get(ch.linked_chat_id) if ch.linked_chat_id else None
        if linked is not None and not linked.private:
            chans.append(linked)  # Telegram sends the linked chat along
        return types.messages.ChatFull(full_chat=full, chats=self.world.chats_for(chans), users=[])

    def _join(self, req: functions.channels.JoinChannelRequest, _key: KeyState) -> Any:
        ch = self._channel(req.channel)
        if ch.id in self.world.joined:
            # Telegram answers a repeated join with an empty Updates, not an error.
            return types.Updates(
                updates=[], users=[], chats=self.world.chats_for([ch]), date=_now(), seq=0
            )
        self.world.joined.add(ch.id)
        # Joining takes one pts and tells the client the channel's read state with
        # it, so Telethon learns the channel's pts at once: a disconnect before the
        # first push is then still recovered through getChannelDifference.
        event = ch.append_event("join", ())
        ids = ch.live
        read = types.UpdateReadChannelInbox(
            channel_id=ch.id, max_id=ids[-1] if ids else 0, still_unread_count=0, pts=event.pts
        )
        return self._channel_updates(ch, read)

    def _leave(self, req: functions.channels.LeaveChannelRequest, _key: KeyState) -> Any:
        ch = self._channel(req.channel)
        if ch.id not in self.world.joined:
            raise RpcFailure(400, "USER_NOT_PARTICIPANT")
        self.world.joined.discard(ch.id)
        return self._channel_updates(ch)

    def _channel_updates(self, ch: EmulatedChannel, *extra: Any) -> types.Updates:
        return types.Updates(
            updates=[types.UpdateChannel(channel_id=ch.id), *extra],
            users=[],
            chats=self.world.chats_for([ch]),
            date=_now(),
            seq=0,
        )

    def _get_history(self, req: functions.messages.GetHistoryRequest, _key: KeyState) -> Any:
        ch = self._channel(req.peer)
        page, count = self.world.history(
            ch,
            offset_id=req.offset_id,
            offset_date=req.offset_date,
            add_offset=req.add_offset,
            limit=req.limit,
            max_id=req.max_id,
            min_id=req.min_id,
        )
        return self._messages_result(ch, page, count)

    def _channel_messages(self, req: functions.channels.GetMessagesRequest, _key: KeyState) -> Any:
        ch = self._channel(req.channel)
        out: list[EmulatedMessage] = []
        for wanted in req.id:
            mid = wanted.id if isinstance(wanted, types.InputMessageID) else None
            msg = ch.messages.get(mid) if mid is not None else None
            out.append(
                msg
                if msg is not None
                else EmulatedMessage(id=mid or 0, date=_now(), text="", deleted=True)
            )
        return self._messages_result(ch, out, len(out))

    def _plain_messages(self, req: functions.messages.GetMessagesRequest, _key: KeyState) -> Any:
        # No private chats in the emulated account: every id is empty.
        empties = [types.MessageEmpty(id=getattr(i, "id", 0)) for i in req.id]
        return types.messages.Messages(messages=empties, topics=[], chats=[], users=[])

    def _get_views(self, req: functions.messages.GetMessagesViewsRequest, _key: KeyState) -> Any:
        ch = self._channel(req.peer)
        views: list[types.MessageViews] = []
        for mid in req.id:
            msg = ch.messages.get(mid)
            if msg is None or msg.deleted:
                views.append(types.MessageViews())
                continue
            if req.increment:
                msg.views = (msg.views or 0) + 1
            views.append(
                types.MessageViews(
                    views=msg.views,
                    forwards=msg.forwards,
                    replies=types.MessageReplies(replies=msg.replies, replies_pts=ch.pts)
                    if msg.replies is not None
                    else None,
                )
            )
        return types.messages.MessageViews(views=views, chats=self.world.chats_for([ch]), users=[])

    def _get_dialogs(self, req: functions.messages.GetDialogsRequest, _key: KeyState) -> Any:
        # Telegram's order and paging: newest top message first; a page
        # starts after the dialog given by (offset_date, offset_id,
        # offset_peer), i.e. the last one of the previous page.
        folder = req.folder_id or 0
        every = self.world.dialogs(folder)
        peer = getattr(req.offset_peer, "channel_id", None)
        has_offset = (
            bool(req.offset_id)
            or peer is not None
            or (req.offset_date is not None and req.offset_date.timestamp() > 0)
        )
        if has_offset:
            stamp = (
                req.offset_date.timestamp()
                if req.offset_date is not None and req.offset_date.timestamp() > 0
                else float("inf")
            )
            after = (stamp, req.offset_id or (1 << 31), peer if peer is not None else 1 << 62)
            rows = [d for d in every if (d[2].timestamp(), d[1], d[0].id) < after]
        else:
            rows = every
        limit = max(0, min(req.limit, 100))
        page = rows[:limit]
        dialogs: list[Any] = []
        tops: list[Any] = []
        for ch, top, _date in page:
            if top:
                tops.append(message_tl(ch, ch.messages[top]))
            dialogs.append(_dialog(ch, top, folder))
        chats = self.world.chats_for([ch for ch, _, _ in page])
        for c in chats:
            if isinstance(c, types.Channel):
                c.left = False
        if len(every) > len(page) or has_offset:
            return types.messages.DialogsSlice(
                count=len(every), dialogs=dialogs, messages=tops, chats=chats, users=[self._me()]
            )
        return types.messages.Dialogs(
            dialogs=dialogs, messages=tops, chats=chats, users=[self._me()]
        )

    def _get_dialog_filters(self, _req: Any, _key: KeyState) -> Any:
        # The account has no folders of its own: only the default "All chats".
        return types.messages.DialogFilters(filters=[types.DialogFilterDefault()])

    def _search(self, req: functions.messages.SearchRequest, _key: KeyState) -> Any:
        if isinstance(req.peer, types.InputPeerEmpty | types.InputPeerSelf):
            # No private chats in the emulated account: nothing to find there.
            return types.messages.Messages(messages=[], topics=[], chats=[], users=[])
        ch = self._channel(req.peer)
        match = _search_filter(req.filter, req.q or "")
        page, count = self.world.search(
            ch,
            match,
            offset_id=req.offset_id,
            add_offset=req.add_offset,
            limit=req.limit,
            max_id=req.max_id,
            min_id=req.min_id,
            min_date=req.min_date,
            max_date=req.max_date,
        )
        return self._messages_result(ch, page, count)

    def _get_replies(self, req: functions.messages.GetRepliesRequest, _key: KeyState) -> Any:
        ch = self._channel(req.peer)
        group, copy = discussion.resolve_thread(self.world, ch, req.msg_id)
        self.world.checked(group.id, group.access_hash)
        page, count = discussion.replies(
            group,
            copy.id,
            offset_id=req.offset_id,
            offset_date=req.offset_date,
            add_offset=req.add_offset,
            limit=req.limit,
            max_id=req.max_id,
            min_id=req.min_id,
        )
        return self._messages_result(group, page, count)

    def _get_discussion_message(
        self, req: functions.messages.GetDiscussionMessageRequest, _key: KeyState
    ) -> Any:
        ch = self._channel(req.peer)
        group, copy = discussion.resolve_thread(self.world, ch, req.msg_id)
        self.world.checked(group.id, group.access_hash)
        ids = discussion.thread_messages(group, copy.id)
        top = ids[-1] if ids else None
        return types.messages.DiscussionMessage(
            messages=[message_tl(group, copy)],
            unread_count=0,
            chats=self._chats(group, [copy]),
            users=[],
            max_id=top,
            read_inbox_max_id=top,
            read_outbox_max_id=None,
        )


_MEDIA_FILTERS: dict[type, frozenset[str]] = {
    types.InputMessagesFilterPhotos: frozenset({"photo"}),
    types.InputMessagesFilterVideo: frozenset({"video"}),
    types.InputMessagesFilterPhotoVideo: frozenset({"photo", "video"}),
    types.InputMessagesFilterDocument: frozenset({"document", "audio"}),
    types.InputMessagesFilterMusic: frozenset({"audio"}),
    types.InputMessagesFilterVoice: frozenset({"voice"}),
    types.InputMessagesFilterRoundVoice: frozenset({"voice"}),
    types.InputMessagesFilterGif: frozenset({"gif"}),
}


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.casefold()).split()


def _search_filter(flt: Any, q: str) -> Callable[[EmulatedMessage], bool]:
    """What messages.search keeps: every word of ``q`` starts a word of the
    text (Telegram's prefix matching, case-insensitive) and the filter's
    kind (pinned, a media type, links); other filters match nothing here (the
    emulator has no geo, contacts, calls or mentions)."""
    want = _words(q)

    def text_ok(m: EmulatedMessage) -> bool:
        if not want:
            return True
        have = _words(m.text)
        return all(any(h.startswith(w) for h in have) for w in want)

    if isinstance(flt, types.InputMessagesFilterEmpty) or flt is None:
        return text_ok
    if isinstance(flt, types.InputMessagesFilterPinned):
        return lambda m: m.pinned and text_ok(m)
    kinds = _MEDIA_FILTERS.get(type(flt))
    if kinds is not None:
        return lambda m: m.media is not None and m.media.get("type") in kinds and text_ok(m)
    if isinstance(flt, types.InputMessagesFilterUrl):
        return lambda m: ("http://" in m.text or "https://" in m.text) and text_ok(m)
    return lambda m: False


def _dialog(ch: EmulatedChannel, top: int, folder: int = 0) -> types.Dialog:
    """A channel's dialog as the server reports it: everything read up to ``top``."""
    return types.Dialog(
        folder_id=folder or None,
        peer=types.PeerChannel(ch.id),
        top_message=top,
        read_inbox_max_id=top,
        read_outbox_max_id=0,
        unread_count=0,
        unread_mentions_count=0,
        unread_reactions_count=0,
        unread_poll_votes_count=0,
        notify_settings=types.PeerNotifySettings(),
        pts=ch.pts,
    )
