"""Domain types shared by every layer: frozen dataclasses, stdlib only.

Contracts that every producer (sources) and consumer (store) relies on:

* Ids are *bare* Telegram ids (a channel's ``1500000001``, never ``-1001500000001``).
* Every ``datetime`` is timezone-aware UTC.
* Entity ``offset``/``length`` count UTF-16 code units, as Telegram does.
* Events are past-tense facts that flow from ``sources``/``daemon`` into the
  store's single writer (``store.writer.Writer.put``). Writing the same event
  twice changes nothing (idempotence is the writer's contract).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

MediaKind = Literal[
    "photo",
    "video",
    "document",
    "audio",
    "voice",
    "sticker",
    "animation",
    "webpage",
    "poll",
    "geo",
    "contact",
    "other",
]
DeletionMethod = Literal["event", "reconcile", "import"]
RawFormat = Literal["tl", "export-json"]
CaptureSource = Literal["live", "backfill", "poll", "repair", "reconcile", "import"]
PinMethod = Literal["push", "service", "state"]
ChannelState = Literal[
    "pending",
    "resolving",
    "backfilling",
    "live",
    "polling",
    "flood_wait",
    "disconnected",
    "private",
    "renamed",
    "duplicate",
    "error",
    "stopped",
]


@dataclass(frozen=True, slots=True)
class Channel:
    """A Telegram channel as last seen. ``access_hash`` is None for imports."""

    id: int
    title: str | None = None
    username: str | None = None
    about: str | None = None
    access_hash: int | None = None
    subscribers: int | None = None
    # The profile photo as Telegram describes it (None: not in this answer).
    photo: ChannelPhoto | None = None


@dataclass(frozen=True, slots=True)
class ChannelPhoto:
    """A channel's profile photo: Telegram's photo id (None: the channel has
    no photo), its dc, and sha256 of the small thumbnail bytes Telegram sends
    inline (``stripped_thumb``; the photo file itself is not downloaded)."""

    photo_id: int | None
    dc_id: int | None = None
    thumb_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class PollAnswer:
    """One answer of a poll: Telegram's ``option`` bytes (hex) and its text."""

    option: str
    text: str


@dataclass(frozen=True, slots=True)
class PollResults:
    """A poll's results at one moment: closed or open, total voters (None
    when Telegram hides them) and ((option hex, voters), ...)."""

    closed: bool = False
    total_voters: int | None = None
    voters: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Poll:
    """A poll attached to a post: its definition and the results seen with it."""

    poll_id: int
    question: str
    answers: tuple[PollAnswer, ...]
    multiple: bool = False
    quiz: bool = False
    public_voters: bool = False
    results: PollResults = PollResults()


@dataclass(frozen=True, slots=True)
class Entity:
    """A formatting/link entity. ``type`` uses Telegram Desktop export names:
    bold, italic, code, pre, link, text_link, mention, hashtag, cashtag,
    bot_command, email, phone, underline, strikethrough, spoiler, blockquote,
    custom_emoji, mention_name. ``url`` is set for text_link."""

    type: str
    offset: int
    length: int
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Media:
    """A summary of a post's media (the file itself, when downloaded, is in
    the media store: store.media, events MediaQueued/MediaStored/MediaLost)."""

    kind: MediaKind
    mime: str | None = None
    size: int | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    file_unique_id: str | None = None
    file_name: str | None = None


@dataclass(frozen=True, slots=True)
class ForwardOrigin:
    """Where a forwarded post came from: a channel id when Telegram tells it,
    otherwise only the display name (Desktop exports, hidden senders)."""

    channel_id: int | None = None
    name: str | None = None
    message_id: int | None = None
    date: datetime | None = None


@dataclass(frozen=True, slots=True)
class Engagement:
    """Counters at one moment. ``reactions`` is ((emoji_or_id, count), ...)."""

    views: int | None = None
    forwards: int | None = None
    replies: int | None = None
    reactions: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class CommentAuthor:
    """Who wrote a comment, as Telegram showed the user at capture time."""

    user_id: int
    name: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class Discussion:
    """Where a message of a linked discussion group sits (set by sources on
    group messages only). A *discussion copy* (the group's copy of a channel
    post, the top of its comment thread) names the post in ``channel_id`` /
    ``post_message_id``; a *comment* names its thread's top message in the
    group (``thread``) and its ``author`` (None when author capture is off)."""

    thread: int | None = None
    author: CommentAuthor | None = None
    channel_id: int | None = None
    post_message_id: int | None = None

    @property
    def is_copy(self) -> bool:
        """Whether this is the discussion copy of a channel post."""
        return self.post_message_id is not None


@dataclass(frozen=True, slots=True)
class Post:
    """One channel message as seen at one moment (its current content)."""

    channel_id: int
    message_id: int
    date: datetime
    text: str = ""
    entities: tuple[Entity, ...] = ()
    media: Media | None = None
    grouped_id: int | None = None
    reply_to: int | None = None
    forward: ForwardOrigin | None = None
    edit_date: datetime | None = None
    post_author: str | None = None
    engagement: Engagement | None = None
    # A poll's definition and current results (media kind "poll"), and
    # whether the post is pinned (None: the source does not say).
    poll: Poll | None = None
    pinned: bool | None = None
    # Telethon's TL serialisation of the message as received (sources.telegram),
    # kept as the version's evidentiary copy; not part of the post's identity.
    raw: bytes | None = field(default=None, compare=False, repr=False)
    # Set for messages of a discussion group (comments, discussion copies).
    discussion: Discussion | None = field(default=None, compare=False)


class UserError(Exception):
    """A problem the user can fix. ``str(err)`` is one line naming the problem
    and what to do; the CLI prints it as ``error: ...`` and exits non-zero."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    """An alert from the config's ``[[alerts]]``. A post matches when any
    keyword (matched on normalised text, text.normalize) or the regex matches,
    and, when ``channels`` is non-empty, its channel (bare id or username,
    no '@') is listed. ``on`` restricts which archive events fire it."""

    name: str
    keywords: tuple[str, ...] = ()
    regex: str | None = None
    channels: tuple[str, ...] = ()
    on: tuple[Literal["new", "edit", "delete"], ...] = ("new", "edit", "delete")


# --------------------------------------------------------------------------
# Events: what sources and the daemon tell the store's writer.
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelSeen:
    """Channel metadata observed; title/username/about changes are recorded."""

    channel: Channel
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class PostSeen:
    """A post observed (new, replayed or edited). The writer makes a new
    version only when text, entities or media differ from the latest one."""

    post: Post
    seen_at: datetime
    source: CaptureSource = "live"
    # The evidentiary copy as received: Telethon's TL serialisation of the
    # Message ("tl") or the export's JSON object ("export-json"), kept with
    # the version it makes; ``capture_id`` names the CaptureStarted session.
    raw: bytes | None = None
    raw_format: RawFormat | None = None
    capture_id: str | None = None


@dataclass(frozen=True, slots=True)
class PostDeleted:
    """Telegram no longer has this post. Written as a tombstone, once."""

    channel_id: int
    message_id: int
    detected_at: datetime
    method: DeletionMethod
    # When the source last saw it alive (the deletion window's start); the
    # writer takes the later of this and the archive's own last capture.
    last_seen_alive: datetime | None = None


@dataclass(frozen=True, slots=True)
class EngagementSampled:
    """Counters for a post at ``sampled_at``; appended, never overwritten."""

    channel_id: int
    message_id: int
    sampled_at: datetime
    engagement: Engagement


@dataclass(frozen=True, slots=True)
class RangeArchived:
    """Every message that exists with ``lo_id <= id <= hi_id`` in the channel
    has been written (by events queued before this one). Ranges are merged."""

    channel_id: int
    lo_id: int
    hi_id: int


@dataclass(frozen=True, slots=True)
class BackfillProgressed:
    """Backfill cursor for resumption: the oldest id reached so far, whether
    the configured depth is reached, and the estimated total to fetch."""

    channel_id: int
    oldest_id: int | None
    done: bool
    target_count: int | None = None


@dataclass(frozen=True, slots=True)
class ChannelStatusChanged:
    """The daemon's view of one watched channel, for the dashboard/status.
    ``key`` is the watch-list key (see store.watchlist) so that channels not
    yet resolved can have a status too."""

    key: str
    channel_id: int | None
    state: ChannelState
    detail: str | None
    changed_at: datetime
    flood_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class DaemonHeartbeat:
    """Written every few seconds by a running daemon."""

    pid: int
    version: str
    started_at: datetime
    beat_at: datetime
    counters: tuple[tuple[str, int], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CaptureStarted:
    """A capture session began: who captured, with what, and the clock
    offset to Telegram's server time (server minus ours, milliseconds).
    ``id`` is unique (a uuid); PostSeen.capture_id refers to it."""

    id: str
    started_at: datetime
    source: str
    account: str | None = None
    telewatch_version: str | None = None
    telethon_version: str | None = None
    api_layer: int | None = None
    clock_offset_ms: int | None = None


@dataclass(frozen=True, slots=True)
class HeadAnchored:
    """An RFC 3161 token from ``tsa`` over chain record ``seq`` (hash ``hash``);
    ``token`` is the DER TimeStampResp as received, ``gen_time`` its time."""

    seq: int
    hash: str
    tsa: str
    token: bytes
    gen_time: datetime
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class DifferenceApplied:
    """One ``getChannelDifference`` answer: its events (posts, edits,
    deletions, channels) and the channel's pts after them, written in one
    transaction, so the stored pts never runs ahead of what is archived."""

    channel_id: int
    pts: int
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class SweepProgressed:
    """The full sweep re-read a channel's posts down to ``cursor`` (queued
    after the check's own events); ``done``: the pass reached the oldest post
    (``checked`` posts re-read in this pass)."""

    channel_id: int
    cursor: int | None
    checked: int
    done: bool


@dataclass(frozen=True, slots=True)
class DiscussionLinked:
    """``channels.getFullChannel`` of a channel named ``group_id`` as its
    linked discussion group (``linked_chat_id``) at ``seen_at``."""

    channel_id: int
    group_id: int
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class RequestsSent:
    """Telegram requests the daemon sent: (method, unix time) pairs, kept so
    that a restart's budgets start from what Telegram still counts."""

    requests: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class PollResultsSeen:
    """Results of a poll pushed without its message (``updateMessagePoll``):
    addressed by Telegram's poll id (the post is found through the archive)."""

    poll_id: int
    results: PollResults
    seen_at: datetime
    source: CaptureSource = "live"
    # False when Telegram sent the results without the poll (closed unknown:
    # the writer keeps the closed state it has).
    closed_known: bool = True


@dataclass(frozen=True, slots=True)
class PollSeen:
    """A poll read without a captured post event carrying it (a Desktop
    export's poll message): its definition, once per post, and a sample of
    its results (store.events.poll_seen, as for a post's poll)."""

    channel_id: int
    message_id: int
    poll: Poll
    seen_at: datetime
    source: CaptureSource = "import"


@dataclass(frozen=True, slots=True)
class PinChanged:
    """Posts pinned (or unpinned) in a channel, as told by a push
    (``updatePinnedChannelMessages``), a pin service message or the
    ``pinned`` flag of a message read later (``state``). The writer records
    a pin event only when it changes the post's archived pin state."""

    channel_id: int
    message_ids: tuple[int, ...]
    pinned: bool
    detected_at: datetime
    method: PinMethod
    event_date: datetime | None = None
    # The update's pts (push, difference): the same update seen again (a
    # replayed difference after a restart) changes nothing.
    pts: int | None = None


@dataclass(frozen=True, slots=True)
class ChannelActionSeen:
    """A service message of the channel (id ``message_id``, Telegram's
    ``date``): ``action`` is pin|title|photo|photo_removed|other, ``value``
    the new title or photo id, ``target_id`` the pinned post."""

    channel_id: int
    message_id: int
    date: datetime
    action: str
    seen_at: datetime
    value: str | None = None
    target_id: int | None = None


MediaRoleName = Literal["file", "thumb"]


@dataclass(frozen=True, slots=True)
class MediaQueued:
    """A post version's media file (``role`` "file") or preview ("thumb")
    became known: to download (``queued``), not wanted by the download
    policy (``skipped``, with ``reason``) or left out of a Desktop export
    (``not_in_export``). ``version_no`` None: the newest version whose media
    has ``file_unique_id`` (else the newest). An existing reference is kept
    as it is, except that ``force`` (``telewatch media fetch``) queues a
    skipped or lost one again. ``file_id`` is Telegram's file id (a location
    without its expiring file reference)."""

    channel_id: int
    message_id: int
    role: MediaRoleName
    queued_at: datetime
    kind: str | None = None
    mime: str | None = None
    size: int | None = None
    file_id: str | None = None
    file_unique_id: str | None = None
    version_no: int | None = None
    state: Literal["queued", "skipped", "not_in_export"] = "queued"
    reason: str | None = None
    force: bool = False


@dataclass(frozen=True, slots=True)
class MediaStored:
    """A media reference's bytes are in the content-addressed store
    (store.media.store_file/store_chunks gave ``sha256`` and ``size``)."""

    channel_id: int
    message_id: int
    role: MediaRoleName
    sha256: str
    size: int
    stored_at: datetime
    mime: str | None = None
    kind: str | None = None
    file_id: str | None = None
    file_unique_id: str | None = None
    version_no: int | None = None


@dataclass(frozen=True, slots=True)
class MediaLost:
    """A media reference's file can no longer be had: ``reason`` says why
    (e.g. "deleted before download"); ``error`` the last error seen."""

    channel_id: int
    message_id: int
    role: MediaRoleName
    reason: str
    lost_at: datetime
    error: str | None = None
    kind: str | None = None
    mime: str | None = None
    size: int | None = None
    file_id: str | None = None
    file_unique_id: str | None = None
    version_no: int | None = None


@dataclass(frozen=True, slots=True)
class MediaProgress:
    """The download queue's state of one queued reference: attempts so far,
    not before ``next_try``, ``resume_offset`` bytes already in its partial
    file (fsynced), the last error."""

    channel_id: int
    message_id: int
    version_no: int
    role: MediaRoleName
    attempts: int
    resume_offset: int
    at: datetime
    next_try: datetime | None = None
    error: str | None = None
    file_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelPhotoStored:
    """The file of a channel's profile photo ``photo_id`` (its big size) is in
    the content-addressed media store (store/photo_files.py)."""

    channel_id: int
    photo_id: int
    sha256: str
    size: int
    stored_at: datetime
    mime: str | None = "image/jpeg"


@dataclass(frozen=True, slots=True)
class MediaHashed:
    """The perceptual hash (store.phash, 64-bit pHash) of a stored image file
    (``sha256``: its content address). Written and chained once per file."""

    sha256: str
    phash: int
    algo: str = "phash64"


Event = (
    ChannelSeen
    | CaptureStarted
    | HeadAnchored
    | PostSeen
    | PostDeleted
    | EngagementSampled
    | RangeArchived
    | BackfillProgressed
    | ChannelStatusChanged
    | DaemonHeartbeat
    | DifferenceApplied
    | SweepProgressed
    | RequestsSent
    | PollResultsSeen
    | PollSeen
    | PinChanged
    | ChannelActionSeen
    | DiscussionLinked
    | MediaQueued
    | MediaStored
    | MediaLost
    | MediaProgress
    | MediaHashed
    | ChannelPhotoStored
)
