"""Reading and writing JSON Lines files, plain or gzipped, byte-for-byte reproducibly.

Replay files, warning dumps and snapshots are JSON Lines (one JSON object per line,
UTF-8). A path ending in ``.gz`` is gzip-compressed. Written gzip files carry no
timestamp or file name in their header, so the same content always gives the same
bytes (the simulator promises identical files for the same seed).
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from schemas.errors import ChurnwatchError


class JsonLinesError(ChurnwatchError, ValueError):
    """A line of a JSON Lines file is not a JSON object."""


class _ClosingGzip(gzip.GzipFile):
    """A GzipFile that also closes the file object it wraps."""

    def close(self) -> None:
        fileobj = self.fileobj
        try:
            super().close()
        finally:
            if fileobj is not None:
                fileobj.close()


def open_binary_writer(path: str | Path) -> IO[bytes]:
    """Open ``path`` for writing bytes; gzip-compress when it ends in ``.gz``.

    The gzip header gets ``mtime=0`` and no file name, so output is reproducible.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.jsonl.gz")
        >>> with open_binary_writer(p) as f:
        ...     _ = f.write(b'{"a":1}\\n')
        >>> list(read_jsonl(p))
        [{'a': 1}]
    """
    path = Path(path)
    raw = open(path, "wb")  # noqa: SIM115 - closed with the returned object
    if path.name.endswith(".gz"):
        # Level 1: a third of the time of the default level for files ~25 % larger; replay
        # files are written once and read at full speed.
        return _ClosingGzip(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1)
    return raw


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write ``rows`` as JSON Lines to ``path`` (gzipped for ``.gz``); return the line count.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.jsonl")
        >>> write_jsonl(p, [{"b": 2}, {"a": 1}])
        2
        >>> open(p).read()
        '{"b":2}\\n{"a":1}\\n'
    """
    count = 0
    dumps = orjson.dumps
    with open_binary_writer(path) as out:
        # Writing in chunks keeps gzip and syscall overhead low on million-line files.
        chunk: list[bytes] = []
        for row in rows:
            chunk.append(dumps(row))
            count += 1
            if len(chunk) >= 4096:
                out.write(b"\n".join(chunk) + b"\n")
                chunk.clear()
        if chunk:
            out.write(b"\n".join(chunk) + b"\n")
    return count


def open_text_reader(path: str | Path) -> IO[str]:
    """Open ``path`` for reading text (UTF-8); transparently gunzip ``.gz`` files."""
    path = Path(path)
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSON Lines file, skipping blank lines.

    Raises :class:`JsonLinesError` naming the file and line when a line is not a JSON
    object.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.jsonl")
        >>> _ = open(p, "w").write('{"a": 1}\\n\\n{"a": 2}\\n')
        >>> [row["a"] for row in read_jsonl(p)]
        [1, 2]
    """
    path = Path(path)
    with open_text_reader(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise JsonLinesError(f"{path}:{number}: not valid JSON ({exc})") from None
            if not isinstance(value, dict):
                raise JsonLinesError(
                    f"{path}:{number}: expected a JSON object, got {type(value).__name__}"
                )
            yield value


class SameFileError(ChurnwatchError, ValueError):
    """An output path names an input, or another output: writing it would destroy that file."""


def check_distinct_files(inputs: dict[str, str | Path | None], outputs: dict[str, str | Path | None]) -> None:
    """Refuse, before anything is written, an output that is one of the inputs or another
    output (by the file it names: ``./a.csv`` and ``a.csv`` are one file). Keys name the
    arguments for the message; ``None`` values are left out.

    >>> check_distinct_files({"FILE": "events.jsonl"}, {"--warnings": "w.jsonl", "--snapshot": None})
    >>> check_distinct_files({"CSV": "orders.csv"}, {"OUT": "./orders.csv"})
    Traceback (most recent call last):
    ...
    streams.jsonl_io.SameFileError: OUT is the input CSV (orders.csv): writing it would destroy the input; choose another output path
    >>> check_distinct_files({}, {"--out": "a.jsonl", "--truth": "a.jsonl"})
    Traceback (most recent call last):
    ...
    streams.jsonl_io.SameFileError: --truth and --out name one file (a.jsonl): choose two paths
    """
    def key(path: str | Path) -> Path:
        return Path(path).expanduser().resolve()

    seen_inputs = {key(p): (name, p) for name, p in inputs.items() if p is not None}
    seen_outputs: dict[Path, str] = {}
    for name, path in outputs.items():
        if path is None:
            continue
        k = key(path)
        if k in seen_inputs:
            in_name, in_path = seen_inputs[k]
            raise SameFileError(f"{name} is the input {in_name} ({in_path}): writing it would destroy the input; "
                                f"choose another output path")
        if k in seen_outputs:
            raise SameFileError(f"{name} and {seen_outputs[k]} name one file ({path}): choose two paths")
        seen_outputs[k] = name
