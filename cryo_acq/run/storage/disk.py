"""Disk space and a writer's scratch files: refuse a run the disk cannot hold, keep a
reserve beside a file being written (its room closes the file on a full disk), sweep
what dead writers left behind."""

from __future__ import annotations

import datetime as _dt
import errno
import os
import pathlib
import shutil

def new_run_path(folder: str | pathlib.Path, procedure: str) -> pathlib.Path:
    """A fresh file name in ``folder`` (created if needed); never an existing file."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        path = folder / f"{procedure}-{stamp}-{n:03d}.h5"
        if not path.exists():
            return path
    raise FileExistsError(f"no free run file name in {folder}")


# --------------------------------------------------------------------------- disk space
#: bytes kept in reserve beside a file being written: released when a write fails, so that
#: the file can still be closed consistently (status ``failed: disk full``) on a full disk
RESERVE_BYTES = 256 * 1024
#: bytes a run file holds besides its rows (attributes, station file, snapshot, log, HDF5 headers)
_OVERHEAD_BYTES = 160 * 1024


class StorageError(OSError):
    """Writing the run file failed (disk full, I/O error): measuring must stop."""


def free_space(folder: str | pathlib.Path) -> int:
    """Free bytes on the file system holding ``folder`` (or its nearest existing parent)."""
    folder = pathlib.Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def estimated_size(plan, columns: int, station_text: str = "") -> int:
    """Bytes a run file of ``plan`` with ``columns`` data columns grows to (an upper estimate):
    rows and plan index at 8 bytes, plan order and done mask, grid, fixed overhead."""
    n = len(plan)
    ndim = len(plan.shape)
    from .layout import chunk_rows

    chunk = chunk_rows(n)
    rows = -(-int(1.2 * n) // chunk) * chunk * (columns + 2) * 8  # 20 % re-measured, whole chunks
    order = n * (ndim * 8 + 1)
    grid = n * columns * 8 if ndim == 2 else 0
    return int(rows + order + grid + len(station_text.encode()) + _OVERHEAD_BYTES + RESERVE_BYTES)


def check_space(folder: str | pathlib.Path, needed: int, keep_free: int = 0, what: str = "the run") -> None:
    """Refuse (ValueError, one line) when ``folder``'s disk cannot hold ``needed`` bytes and
    still keep ``keep_free`` free."""
    free = free_space(folder)
    if needed + keep_free > free:
        raise ValueError(f"not enough disk space in {folder}: {what} needs about {size_text(needed)}"
                         + (f" plus {size_text(keep_free)} kept free" if keep_free else "")
                         + f", {size_text(free)} free")


def size_text(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def disk_full(exc: BaseException) -> bool:
    text = str(exc)
    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or \
        "No space left" in text or "errno = 28" in text or "File too large" in text or "errno = 27" in text


def reserve_path(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(f".{path.name}.{os.getpid()}.reserve")


def scratch_path(path: pathlib.Path, kind: str) -> pathlib.Path:
    """A writer's temporary file beside ``path``, tagged with the writer's process id."""
    scratch = path.with_name(f"{path.name}.{os.getpid()}.{kind}")
    scratch.unlink(missing_ok=True)
    return scratch


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_leftovers(folder: str | pathlib.Path) -> list[pathlib.Path]:
    """Delete what writers that died left in ``folder`` (a file half created, half copied
    for a resume, a disk reserve): only files tagged with a process id that no longer runs."""
    removed = []
    try:
        candidates = [p for p in pathlib.Path(folder).iterdir()
                      if p.name.endswith((".creating", ".resuming", ".reserve"))]
    except OSError:
        return removed
    for p in candidates:
        parts = p.name.rsplit(".", 2)
        if len(parts) == 3 and parts[1].isdigit() and not _alive(int(parts[1])):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed
