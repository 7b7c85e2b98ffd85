"""The emulator serves real files through upload.getFile to real Telethon
(emulator/media.py): the bytes the truth's SHA-256 names, Telegram's chunk
rules, expiring file references renewed by channels.getMessages, FloodWait
on getFile, FILE_MIGRATE for a file on another DC."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from telethon import errors, functions, types

from telewatch.emulator import Emulator
from telewatch.sources.telegram import FileMigrate, TelegramSource, remote_files
from tests.fixtures.emulator import EMU_CHANNEL, EMU_USERNAME, ClientFactory


def _files(emu: Emulator, message_id: int) -> dict[str, dict[str, object]]:
    ch = next(c for c in emu.truth()["channels"] if c["id"] == EMU_CHANNEL)
    msg = next(m for m in ch["messages"] if m["id"] == message_id)
    return {f["role"]: f for f in msg["files"]}


async def test_download_media_gets_the_bytes_the_truth_names(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """A photo (largest size and its thumbnail) and a 2.5 MB video arrive
    whole, with the SHA-256 the truth gives; the photo is a real JPEG of the
    size the Photo says."""
    photo = emulator.post(EMU_CHANNEL, "crater", media={"type": "photo", "w": 1280, "h": 720})
    video = emulator.post(EMU_CHANNEL, "convoy", media={"type": "video", "size": 2_500_000})
    client = await telethon_client()
    channel = await client.get_entity(EMU_USERNAME)
    msgs = {m.id: m for m in await client.get_messages(channel, ids=[photo, video])}
    data = await client.download_media(msgs[photo], file=bytes)
    truth = _files(emulator, photo)
    assert hashlib.sha256(data).hexdigest() == truth["file"]["sha256"]
    assert Image.open(io.BytesIO(data)).size == (1280, 720)
    sizes = msgs[photo].media.photo.sizes
    assert max(getattr(s, "size", 0) or max(getattr(s, "sizes", [0])) for s in sizes) == len(data)
    thumb = await client.download_media(msgs[photo], file=bytes, thumb=1)
    assert hashlib.sha256(thumb).hexdigest() == truth["thumb"]["sha256"]
    vdata = await client.download_media(msgs[video], file=bytes)
    vtruth = _files(emulator, video)
    assert len(vdata) == 2_500_000 == vtruth["file"]["size"]
    assert hashlib.sha256(vdata).hexdigest() == vtruth["file"]["sha256"]
    assert vdata[4:8] == b"ftyp"
    assert "thumb" in vtruth


async def test_chunk_rules_are_telegrams(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    mid = emulator.post(EMU_CHANNEL, "", media={"type": "video", "size": 3 * 1024 * 1024})
    client = await telethon_client()
    channel = await client.get_entity(EMU_USERNAME)
    doc = (await client.get_messages(channel, ids=mid)).media.document
    loc = types.InputDocumentFileLocation(doc.id, doc.access_hash, doc.file_reference, "")

    async def get(offset: int, limit: int, precise: bool = False) -> bytes:
        r = await client(functions.upload.GetFileRequest(loc, offset, limit, precise=precise))
        return bytes(r.bytes)

    assert len(await get(0, 1024 * 1024)) == 1024 * 1024
    assert len(await get(512 * 1024, 512 * 1024)) == 512 * 1024
    with pytest.raises(errors.LimitInvalidError):
        await get(0, 1000)
    with pytest.raises(errors.LimitInvalidError):
        await get(0, 3 * 4096)  # does not divide 1 MiB
    with pytest.raises(errors.OffsetInvalidError):
        await get(100, 4096)
    with pytest.raises(errors.OffsetInvalidError):
        await get(768 * 1024, 512 * 1024)  # crosses a 1 MiB boundary
    assert len(await get(100 * 1024, 3 * 1024, precise=True)) == 3 * 1024
    assert await get(4 * 1024 * 1024, 4096) == b""  # past the end: no bytes


async def test_expired_reference_is_renewed_by_get_messages(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    mid = emulator.post(EMU_CHANNEL, "", media={"type": "photo"})
    client = await telethon_client()
    channel = await client.get_entity(EMU_USERNAME)
    old = await client.get_messages(channel, ids=mid)
    emulator.expire_file_references()
    with pytest.raises(errors.FileReferenceExpiredError):
        await client.download_media(old, file=bytes)
    fresh = await client.get_messages(channel, ids=mid)
    assert fresh.media.photo.file_reference != old.media.photo.file_reference
    data = await client.download_media(fresh, file=bytes)
    assert hashlib.sha256(data).hexdigest() == _files(emulator, mid)["file"]["sha256"]


async def test_deleted_message_and_ttl_expire_references(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    gone = emulator.post(EMU_CHANNEL, "", media={"type": "photo"})
    client = await telethon_client()
    channel = await client.get_entity(EMU_USERNAME)
    msg = await client.get_messages(channel, ids=gone)
    emulator.delete(EMU_CHANNEL, [gone])
    with pytest.raises(errors.FileReferenceExpiredError):
        await client.download_media(msg, file=bytes)
    assert await client.get_messages(channel, ids=gone) is None
    emulator.methods.files.reference_ttl = 0.0
    later = emulator.post(EMU_CHANNEL, "", media={"type": "photo"})
    msg = await client.get_messages(channel, ids=later)
    with pytest.raises(errors.FileReferenceExpiredError):
        await client.download_media(msg, file=bytes)


async def test_edit_keeps_the_old_file_and_serves_the_new(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    mid = emulator.post(EMU_CHANNEL, "v1", media={"type": "photo", "seed": 1})
    client = await telethon_client()
    channel = await client.get_entity(EMU_USERNAME)
    v1 = await client.get_messages(channel, ids=mid)
    emulator.edit(EMU_CHANNEL, mid, "v2", media={"type": "photo", "seed": 2})
    v2 = await client.get_messages(channel, ids=mid)
    assert v1.media.photo.id != v2.media.photo.id
    a = await client.download_media(v1, file=bytes)
    b = await client.download_media(v2, file=bytes)
    assert a != b
    truth = emulator.truth()
    ch = next(c for c in truth["channels"] if c["id"] == EMU_CHANNEL)
    retired = ch["retired_files"][0]["files"][0]
    assert retired["sha256"] == hashlib.sha256(a).hexdigest()


async def test_same_seed_in_two_channels_is_the_same_bytes(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    emulator.add_channel(1500000102, "emu_other", "Other")
    a = emulator.post(EMU_CHANNEL, "", media={"type": "photo", "seed": 42})
    b = emulator.post(1500000102, "", media={"type": "photo", "seed": 42})
    client = await telethon_client()
    ma = await client.get_messages(await client.get_entity(EMU_USERNAME), ids=a)
    mb = await client.get_messages(await client.get_entity("emu_other"), ids=b)
    assert ma.media.photo.id != mb.media.photo.id  # two uploads, two Telegram files
    assert await client.download_media(ma, file=bytes) == await client.download_media(
        mb, file=bytes
    )


async def test_flood_wait_and_file_migrate_on_get_file(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    mid = emulator.post(EMU_CHANNEL, "", media={"type": "photo"})
    client = await telethon_client()
    msg = await client.get_messages(await client.get_entity(EMU_USERNAME), ids=mid)
    photo = msg.media.photo
    loc = types.InputPhotoFileLocation(photo.id, photo.access_hash, photo.file_reference, "y")
    emulator.migrate_files(EMU_CHANNEL, mid, 4)
    with pytest.raises(errors.FileMigrateError) as moved:
        await client(functions.upload.GetFileRequest(loc, 0, 4096))
    assert moved.value.new_dc == 4
    emulator.inject_flood("upload.GetFile", 7)
    with pytest.raises(errors.FloodWaitError) as flood:
        await client(functions.upload.GetFileRequest(loc, 0, 4096))
    assert flood.value.seconds == 7


async def test_source_reads_files_and_follows_file_migrate(
    emulator: Emulator, tmp_path: Path
) -> None:
    """sources.telegram: a message's files (file and thumb) with their
    locations, chunks by upload.getFile, and FILE_MIGRATE_4 followed to DC 4
    (which the emulator does not serve: the source says so, naming the DC,
    and remembers where the file lives)."""
    mid = emulator.post(EMU_CHANNEL, "", media={"type": "photo", "w": 640, "h": 480})
    source = TelegramSource(emulator.write_session(tmp_path / "src.session"), 1, "emulator")
    await source.connect()
    try:
        await source.resolve(EMU_USERNAME)
        answer = await source.messages(EMU_CHANNEL, [mid])
        files = {f.role: f for f in remote_files(answer.found[mid].raw)}
        truth = _files(emulator, mid)
        assert set(files) == {"file", "thumb"}
        for role, f in files.items():
            data = await source.file_chunk(f.file_id, f.reference, 0, 1 << 20)
            assert hashlib.sha256(data).hexdigest() == truth[role]["sha256"]
            assert len(data) == f.size
        f = files["file"]
        emulator.migrate_files(EMU_CHANNEL, mid, 4)
        with pytest.raises(FileMigrate) as moved:
            await source.file_chunk(f.file_id, f.reference, 0, 1 << 20)
        assert moved.value.dc == 4
        assert source.file_dcs[f.file_id] == 4
    finally:
        await source.close()


async def test_desktop_export_serves_its_own_files(
    emulator: Emulator, telethon_client: ClientFactory, tmp_path: Path
) -> None:
    """An export loaded into the emulator serves the files it includes, byte
    for byte; a file the export left out is generated as usual."""
    folder = tmp_path / "export"
    (folder / "photos").mkdir(parents=True)
    (folder / "files").mkdir()
    img = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(img, "JPEG")
    (folder / "photos" / "photo_1.jpg").write_bytes(img.getvalue())
    doc = bytes(range(256)) * 3000
    (folder / "files" / "report.pdf").write_bytes(doc)
    messages = [
        {"id": 1, "type": "message", "date_unixtime": "1700000000", "text": "photo",
         "photo": "photos/photo_1.jpg", "width": 800, "height": 600},
        {"id": 2, "type": "message", "date_unixtime": "1700000100", "text": "report",
         "file": "files/report.pdf", "mime_type": "application/pdf", "file_size": len(doc)},
        {"id": 3, "type": "message", "date_unixtime": "1700000200", "text": "left out",
         "file": "(File not included. Change data exporting settings to download.)",
         "mime_type": "application/pdf", "file_size": 5000},
    ]  # fmt: skip
    (folder / "result.json").write_text(
        json.dumps(
            {"name": "Exported", "type": "public_channel", "id": 1500000190, "messages": messages}
        )
    )
    cid = emulator.load_export(folder / "result.json", username="emu_exported")
    client = await telethon_client()
    channel = await client.get_entity("emu_exported")
    msgs = {m.id: m for m in await client.get_messages(channel, ids=[1, 2, 3])}
    assert await client.download_media(msgs[1], file=bytes) == img.getvalue()
    assert await client.download_media(msgs[2], file=bytes) == doc
    generated = await client.download_media(msgs[3], file=bytes)
    assert len(generated) == 5000
    ch = next(c for c in emulator.truth()["channels"] if c["id"] == cid)
    sha = {m["id"]: m["files"][0]["sha256"] for m in ch["messages"]}
    assert sha[1] == hashlib.sha256(img.getvalue()).hexdigest()
    assert sha[2] == hashlib.sha256(doc).hexdigest()


async def test_channel_photo_served_by_peer_and_by_full_photo(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """A channel photo comes whole, with the truth's SHA-256, both the way
    Telethon's download_profile_photo asks (InputPeerPhotoFileLocation, big
    and small) and from getFullChannel's chat_photo (InputPhotoFileLocation);
    a replaced photo's id is no longer served for the peer."""
    emulator.set_photo(EMU_CHANNEL, 41)
    client = await telethon_client()
    channel = await client.get_entity(EMU_USERNAME)
    truth = next(c for c in emulator.truth()["channels"] if c["id"] == EMU_CHANNEL)
    files = truth["photo_files"]
    big = await client.download_profile_photo(channel, file=bytes)
    small = await client.download_profile_photo(channel, file=bytes, download_big=False)
    assert hashlib.sha256(big).hexdigest() == files["big"]["sha256"]
    assert hashlib.sha256(small).hexdigest() == files["small"]["sha256"]
    assert Image.open(io.BytesIO(big)).size == (640, 640)
    assert Image.open(io.BytesIO(small)).size == (160, 160)
    full = await client(functions.channels.GetFullChannelRequest(channel))
    photo = full.full_chat.chat_photo
    assert isinstance(photo, types.Photo) and photo.id == truth["photo"]
    assert {s.type: s.size for s in photo.sizes if isinstance(s, types.PhotoSize)} == {
        "a": files["small"]["size"],
        "c": files["big"]["size"],
    }
    data = await client.download_media(photo, file=bytes)
    assert hashlib.sha256(data).hexdigest() == files["big"]["sha256"]

    old = channel.photo.photo_id if isinstance(channel.photo, types.ChatPhoto) else None
    assert old == truth["photo"]
    emulator.set_photo(EMU_CHANNEL, 42)
    location = types.InputPeerPhotoFileLocation(
        peer=await client.get_input_entity(channel), photo_id=old, big=True
    )
    with pytest.raises(errors.PhotoIdInvalidError):
        await client(functions.upload.GetFileRequest(location, 0, 512 * 1024))
