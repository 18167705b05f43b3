"""Backups of the warehouse file and their restore (README, "Deploy").

A backup is a byte copy of the DuckDB file taken while this process holds the file's write
lock: DuckDB lets one process open a file for writing, so no run can write during the copy
(a running write is waited for, like any writer waits). A CHECKPOINT first moves everything
committed from the write-ahead log into the file, so the copy alone is whole. The copy is
opened before it counts, and only then renamed to its final name.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.db import NotAWarehouseError, connect, warehouse_path

BACKUP_DIR_ENV = "OKR_BACKUP_DIR"
DEFAULT_KEEP = 14


def backup_folder(warehouse: Path, folder: Path | None = None) -> Path:
    """`folder`, else OKR_BACKUP_DIR, else `backups/` beside the warehouse file."""
    return Path(folder or os.environ.get(BACKUP_DIR_ENV) or warehouse.parent / "backups")


def _check_copy(path: Path) -> int:
    """Opens a copy read-only and returns how many migrations it records: a file that is not
    an okr-sync warehouse fails here, before it is kept or restored."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise NotAWarehouseError(
            f"{path} is not a DuckDB file ({str(exc).splitlines()[0]})"
        ) from None
    try:
        return con.execute("SELECT count(*) FROM meta.schema_migrations").fetchall()[0][0]
    except duckdb.CatalogException:
        raise NotAWarehouseError(
            f"{path} is a DuckDB file but not an okr-sync warehouse (no meta.schema_migrations)"
        ) from None
    finally:
        con.close()


def backup(
    warehouse: Path | None = None,
    folder: Path | None = None,
    keep: int = DEFAULT_KEEP,
    now: datetime | None = None,
) -> tuple[Path, list[Path]]:
    """Copies the warehouse into `folder` as `<stem>-<UTC time>.duckdb` and deletes all but the
    newest `keep` backups of that warehouse. Returns the new file and the deleted ones."""
    if keep < 1:
        raise ValueError("--keep must be at least 1 (the backup just taken)")
    source = warehouse_path(warehouse)
    if not source.exists():
        raise FileNotFoundError(f"no warehouse at {source}; nothing to back up")
    target_dir = backup_folder(source, folder)
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = target_dir / f"{source.stem}-{stamp}.duckdb"
    suffix = 1
    while target.exists():  # two backups within a second: both kept, in order
        target = target_dir / f"{source.stem}-{stamp}-{suffix}.duckdb"
        suffix += 1
    partial = target.with_name(target.name + ".partial")
    con = connect(source, apply_migrations=False)  # the write lock: no run writes meanwhile
    try:
        con.execute("CHECKPOINT")
        shutil.copyfile(source, partial)
    finally:
        con.close()
    try:
        _check_copy(partial)
    except NotAWarehouseError:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(target)
    return target, _prune(target_dir, source.stem, keep)


def _prune(folder: Path, stem: str, keep: int) -> list[Path]:
    def taken(path: Path) -> tuple[str, int]:
        # The UTC time in the name sorts like the time itself; a second backup within the same
        # second is `<time>-1`, which must sort after `<time>` (by name it would sort before).
        stamp, _, counter = path.stem.removeprefix(f"{stem}-").partition("-")
        return stamp, int(counter or 0)

    backups = sorted(folder.glob(f"{stem}-*.duckdb"), key=taken)
    removed = backups[:-keep]
    for old in removed:
        old.unlink()
    return removed


def restore(backup_file: Path, warehouse: Path | None = None) -> Path | None:
    """Replaces the warehouse with `backup_file` in one rename, after checking the backup opens.
    The replaced file is kept beside it as `<name>.before-restore`; returns that path (None when
    there was no warehouse). Stop the daemon first so no run starts meanwhile (README)."""
    if not backup_file.is_file():
        raise FileNotFoundError(f"no backup at {backup_file}")
    _check_copy(backup_file)
    target = warehouse_path(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(target.name + ".restoring")
    shutil.copyfile(backup_file, incoming)
    kept: Path | None = None
    if target.exists():
        kept = target.with_name(target.name + ".before-restore")
        try:
            con = connect(target, apply_migrations=False)  # waits for a running write
        except NotAWarehouseError:  # a damaged file is what a restore is for: keep it aside
            con = None
        try:
            if con is not None:
                con.execute("CHECKPOINT")  # the replaced file is whole, and no log is left
            shutil.copyfile(target, kept)
        finally:
            if con is not None:
                con.close()
    wal = target.with_name(target.name + ".wal")
    if wal.exists():  # a log of the replaced file must never be replayed onto the backup
        wal.rename(target.with_name(target.name + ".wal.before-restore"))
    os.replace(incoming, target)
    return kept
