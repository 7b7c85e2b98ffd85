"""Posting alert hits to the rules' webhook URLs (``webhooks = [...]`` in
``[[alerts]]``), at least once, from the archive's outbox (store.webhooks).

Contract:

* ``register(db, settings)`` records a target for every (rule, URL) of the
  config; call it before the writer evaluates rules (start, reload), so that
  every hit written afterwards is owed to every URL of its rule.
* ``WebhookSender(db, settings, counters).run()`` runs until cancelled: one
  task per target sends the owed hits in hit order, one request at a time.
  A 2xx answer is recorded ``delivered`` at once (never sent again to that
  URL, across restarts and kill -9). A 5xx, 408, 425 or 429 answer, a timeout
  or a connection error is retried after ``backoff`` seconds, doubling up to
  ``backoff_max`` (429's ``Retry-After`` is honoured within that bound); after
  ``max_attempts`` attempts, or at once for any other 4xx (the receiver
  rejects the body; retrying cannot help), the hit is dead-lettered. A hit is
  sent again only when its 2xx was not recorded (the process died between the
  two): the body's ``idempotency_key`` (also the ``Idempotency-Key`` header)
  lets a receiver drop that repeat.
* URLs are secrets: logs show ``store.webhooks.mask_url`` forms only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from telewatch import __version__
from telewatch.config import Settings, WebhookSettings
from telewatch.store import webhooks as outbox
from telewatch.store.db import connect, iso, now_iso, parse_iso
from telewatch.store.feed import tme_url

log = logging.getLogger("telewatch.daemon.webhooks")

POLL = 1.0
"""Seconds between two looks at the outbox when a target owes nothing."""
EXCERPT_CHARS = 300
_KIND_WORDS = {"new": "new post", "edit": "edited post", "delete": "deleted post"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_RETRYABLE_4XX = {408, 425, 429}


def configured(settings: Settings) -> list[tuple[str, str]]:
    """Every (rule, URL) of the config, in file order, without repeats."""
    out: list[tuple[str, str]] = []
    for a in settings.alerts:
        for u in a.webhooks:
            pair = (a.name, u.get_secret_value().strip())
            if pair not in out:
                out.append(pair)
    return out


def register(db: Path, settings: Settings) -> list[tuple[outbox.Target, str]]:
    """Record the config's targets in the archive; returns (target, URL) pairs."""
    pairs = configured(settings)
    if not pairs:
        return []
    conn = connect(db, readonly=False)
    try:
        targets = outbox.register_targets(conn, pairs, now_iso())
    finally:
        conn.close()
    return [(t, url) for t, (_, url) in zip(targets, pairs, strict=True)]


def idempotency_key(h: outbox.OutboxHit) -> str:
    """Stable for one hit (rule, kind, post) whatever the archive's row ids."""
    raw = f"{h.rule}\x1f{h.kind}\x1f{h.channel_id}\x1f{h.message_id}"
    return "tw-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def hit_body(h: outbox.OutboxHit) -> dict[str, Any]:
    """The JSON body for one hit: ``text`` (and ``content``, for Discord) that
    chat bridges (Slack, Mattermost, Rocket.Chat, Matrix hookshot) post as-is,
    plus structured fields (docs/EXPORTS.md)."""
    url = tme_url(h.channel_id, h.message_id, h.username)
    label = h.title or (f"@{h.username}" if h.username else str(h.channel_id))
    if h.title and h.username:
        label = f"{h.title} (@{h.username})"
    excerpt = _CONTROL.sub(" ", h.excerpt).strip()
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[: EXCERPT_CHARS - 1] + "…"
    text = f"[{h.rule}] {_KIND_WORDS.get(h.kind, h.kind)} in {label}: {excerpt}\n{url}"
    return {
        "text": text,
        "content": text[:2000],
        "rule": h.rule,
        "kind": h.kind,
        "channel": {"id": h.channel_id, "username": h.username, "title": h.title},
        "message_id": h.message_id,
        "url": url,
        "excerpt": excerpt,
        "hit_at": h.hit_at,
        "hit_id": h.hit_id,
        "idempotency_key": idempotency_key(h),
        "source": f"telewatch {__version__}",
    }


def retry_delay(cfg: WebhookSettings, attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    delay: float = min(cfg.backoff * 2.0 ** max(0, attempts - 1), cfg.backoff_max)
    if retry_after is not None:
        delay = min(max(delay, retry_after), cfg.backoff_max)
    return delay


class WebhookSender:
    """Delivers the outbox of every configured target (see the module doc)."""

    def __init__(self, db: Path, settings: Settings, counters: Counter[str]) -> None:
        self.db = db
        self.counters = counters
        self.cfg = settings.webhooks
        self.targets: list[tuple[outbox.Target, str]] = []
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        # httpx logs every request URL at INFO: the URL is a secret.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    def set_targets(self, targets: list[tuple[outbox.Target, str]], cfg: WebhookSettings) -> None:
        """Serve exactly these targets from now on (after ``register``)."""
        self.cfg = cfg
        self.targets = targets
        if self._client is None:
            return  # run() starts them
        wanted = {t.id for t, _ in targets}
        for tid in list(self._tasks):
            if tid not in wanted:
                self._tasks.pop(tid).cancel()
        for t, url in targets:
            if t.id not in self._tasks:
                self._tasks[t.id] = asyncio.create_task(self._serve(t, url), name=f"webhook-{t.id}")

    async def run(self) -> None:
        """Serve the targets until cancelled."""
        async with httpx.AsyncClient(
            follow_redirects=False, headers={"User-Agent": f"telewatch/{__version__}"}
        ) as client:
            self._client = client
            self.set_targets(self.targets, self.cfg)
            try:
                await asyncio.Event().wait()
            finally:
                for t in self._tasks.values():
                    t.cancel()
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
                self._tasks.clear()
                self._client = None

    async def _serve(self, target: outbox.Target, url: str) -> None:
        conn = await asyncio.to_thread(connect, self.db, readonly=False)
        try:
            while True:
                try:
                    await self._serve_once(conn, target, url)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # the daemon never dies of one target
                    self.counters["webhook_errors"] += 1
                    log.error(
                        "webhook delivery error",
                        extra={"target": target.url_masked, "error": type(err).__name__},
                    )
                    await asyncio.sleep(POLL)
        finally:
            conn.close()

    async def _serve_once(self, conn: Any, target: outbox.Target, url: str) -> None:
        hits = await asyncio.to_thread(outbox.owed, conn, target, 50)
        if not hits:
            await asyncio.sleep(POLL)
            return
        for h in hits:
            if h.next_at is not None:
                wait = (parse_iso(h.next_at) - datetime.now(UTC)).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
            if not await self._deliver(conn, target, url, h):
                return  # retried first next round: the target keeps hit order

    async def _deliver(
        self, conn: Any, target: outbox.Target, url: str, h: outbox.OutboxHit
    ) -> bool:
        """Send one hit; True when it is settled (delivered or dead), False
        when it waits for a retry."""
        assert self._client is not None
        body = hit_body(h)
        status, retry_after, permanent = await self._post(url, body)
        attempts = h.attempts + 1
        now = datetime.now(UTC)
        if status.startswith("2"):
            await asyncio.to_thread(
                outbox.record_attempt,
                conn,
                target,
                h.hit_id,
                "delivered",
                attempts,
                status,
                None,
                iso(now),
            )
            self.counters["webhooks_delivered"] += 1
            return True
        self.counters["webhook_failures"] += 1
        if permanent or attempts >= self.cfg.max_attempts:
            await asyncio.to_thread(
                outbox.record_attempt,
                conn,
                target,
                h.hit_id,
                "dead",
                attempts,
                status,
                None,
                iso(now),
            )
            self.counters["webhooks_dead"] += 1
            log.error(
                "webhook gave up on a hit (dead letter)",
                extra={
                    "target": target.url_masked,
                    "rule": h.rule,
                    "hit": h.hit_id,
                    "attempts": attempts,
                    "status": status,
                },
            )
            return True
        delay = retry_delay(self.cfg, attempts, retry_after)
        next_at = iso(now + timedelta(seconds=delay))
        await asyncio.to_thread(
            outbox.record_attempt,
            conn,
            target,
            h.hit_id,
            "pending",
            attempts,
            status,
            next_at,
            iso(now),
        )
        log.warning(
            "webhook attempt failed; retrying",
            extra={
                "target": target.url_masked,
                "hit": h.hit_id,
                "attempt": attempts,
                "status": status,
                "retry_in": round(delay, 2),
            },
        )
        return False

    async def _post(self, url: str, body: dict[str, Any]) -> tuple[str, float | None, bool]:
        """(status text, Retry-After seconds, permanent failure) of one POST."""
        assert self._client is not None
        try:
            r = await self._client.post(
                url,
                json=body,
                headers={"Idempotency-Key": str(body["idempotency_key"])},
                timeout=self.cfg.timeout,
            )
        except httpx.TimeoutException:
            return "timeout", None, False
        except httpx.HTTPError as err:
            return f"error:{type(err).__name__}", None, False
        code = r.status_code
        retry_after = None
        with contextlib.suppress(ValueError):
            retry_after = float(r.headers.get("Retry-After", ""))
        if 200 <= code < 300:
            return str(code), None, False
        permanent = 400 <= code < 500 and code not in _RETRYABLE_4XX
        # A redirect is not followed (it could point a token elsewhere): the
        # URL in the config is wrong, which retrying does not fix either.
        permanent = permanent or 300 <= code < 400
        return str(code), retry_after, permanent
