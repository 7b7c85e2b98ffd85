"""Writing a command's output file (``export -o``, ``graph -o``, ``feed -o``)
without ever harming the archive: the target may not be the archive or one of
its SQLite sidecars under any name (relative path, symlink, hard link), and
the file is written to a temporary name beside it and renamed only once
complete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from telewatch.models import UserError

_SIDECARS = ("", "-wal", "-shm", "-journal")


def refuse_archive_target(output: Path, db: Path) -> None:
    """UserError when ``output`` is (resolves to, or is a hard link of) the
    archive or one of its SQLite sidecar files: writing there destroys it."""
    target = output.resolve()
    base = db.resolve()
    for suffix in _SIDECARS:
        side = Path(f"{base}{suffix}")
        same = target == side
        if not same and target.exists() and side.exists():
            a, b = target.stat(), side.stat()
            same = (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
        if same:
            what = "the archive" if not suffix else f"the archive's {suffix[1:]} file"
            raise UserError(
                f"refusing to write to {output}: it is {what} {side}; writing there would"
                " destroy it: choose another file"
            )


def write_atomically(output: Path, write: Callable[[IO[str]], int]) -> int:
    """Write text (UTF-8, newlines as given) through a temporary file in
    ``output``'s folder and rename it over ``output`` only once complete: an
    export that fails half way (a full disk, Ctrl-C) leaves whatever was
    there before. Returns what ``write`` returns."""
    return _atomically(output, write, None)


def write_bytes_atomically(output: Path, data: bytes) -> None:
    """``write_atomically`` for a document already built in memory."""
    _atomically(output, None, data)


def _atomically(output: Path, write: Callable[[IO[str]], int] | None, data: bytes | None) -> int:
    folder = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise UserError(f"--output {output} is a folder; name a file in it")
    if not folder.is_dir():
        raise UserError(f"--output {output}: folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise UserError(f"cannot write --output {output}: {err.strerror}") from None
    tmp = Path(tmp_name)
    try:
        if write is not None:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                n = write(fh)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            assert data is not None
            with os.fdopen(fd, "wb") as fb:
                n = fb.write(data)
                fb.flush()
                os.fsync(fb.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, output)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UserError(
            f"cannot write --output {output}: {err.strerror or err}; nothing was replaced"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
