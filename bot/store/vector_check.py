"""A check of Chroma's vector index files before Chroma reads them: damaged bytes give one clear error.

An embedded Chroma keeps each collection's HNSW graph in a segment folder named by a UUID, in hnswlib's
persisted format, which hnswlib loads without any check: random bytes in `data_level0.bin` crash the process
(a segfault on the first search), and a truncated file or garbage in a vector or in `length.bin` gives silently
wrong searches and embeddings. So each segment folder is checked here first, with numpy over memory-mapped files
(0.06-0.1 s for an 87,000-chunk index, 146 MB of data_level0.bin, when the files are cached):

- header.bin: 100 bytes, `<i 6Q i I 3Q d Q` = (version 1, offsetLevel0, max_elements, cur_element_count,
  size_data_per_element, label_offset, offsetData, maxlevel, enterpoint_node, maxM, maxM0, M, mult,
  ef_construction), its values consistent with each other.
- data_level0.bin: a record of size_data_per_element bytes per element (a new index's file holds max_elements
  records): a uint32 whose low 16 bits count the neighbours on level 0 (bit 16 marks a deleted element), maxM0
  uint32 neighbour ids, at offsetData the float32 vector, at label_offset the uint64 label. Every neighbour id in
  range; every vector of length 1 (newsbot stores only normalised vectors, so another length means damaged
  bytes); every label given once.
- length.bin: a float32 per element, the length of the vector as it was added (1 for newsbot's).
- link_lists.bin: per element, in order, a uint32 byte size (0 for an element only on level 0) followed by that
  many bytes: one list per level above 0, each a uint32 count and maxM uint32 ids. The sizes must chain exactly
  to the end of the file; every list's ids in range and on that level; the entry point on the top level.

A folder without header.bin (a collection never flushed) is skipped. A small collection keeps its vectors in
Chroma's write log: its files announce 0 elements.

Sound files can still be too few: a deleted (or replaced) segment folder loses every vector flushed to it, and
Chroma then silently searches only what its write log still holds. `check_vector_count` compares what the files
and the log can hold with the collection's chunks, from chroma.sqlite3 (read-only, one statement, about a
millisecond).
"""

from __future__ import annotations

import contextlib
import math
import re
import sqlite3
import struct
from pathlib import Path

import numpy as np

from ..errors import IndexUnusable

HEADER = struct.Struct("<i6QiI3QdQ")  # 100 bytes
PERSISTENCE_VERSION = 1
NORM_TOLERANCE = 0.01  # a stored vector's length is 1 within this
SEGMENT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ROWS = 16384  # elements per block of the vector check: bounds the temporary arrays (16k x 1.6 kB)
REBUILD = "delete the index folder and rebuild it with `newsbot ingest corpus/`"
# For one collection: its vector segment, its chunks, the last write flushed into the vector segment's files, and
# the writes in Chroma's log after it (and in all). One statement: one consistent snapshot of the database.
_COUNTS = """
SELECT v.id,
  (SELECT count(*) FROM embeddings WHERE segment_id = m.id),
  (SELECT seq_id FROM max_seq_id WHERE segment_id = v.id),
  (SELECT count(*) FROM embeddings_queue q WHERE q.topic LIKE '%/' || c.id
     AND q.seq_id > coalesce((SELECT seq_id FROM max_seq_id WHERE segment_id = v.id), -1)),
  (SELECT count(*) FROM embeddings_queue q WHERE q.topic LIKE '%/' || c.id)
FROM collections c
JOIN segments v ON v.collection = c.id AND v.scope = 'VECTOR'
JOIN segments m ON m.collection = c.id AND m.scope = 'METADATA'
WHERE c.name = ?
"""


class _Damaged(Exception):
    def __init__(self, file: str, what: str):
        super().__init__(f"{file}: {what}")
        self.file = file
        self.what = what


def check_vector_index(index_dir: Path) -> None:
    """Raise IndexUnusable (one line: the folder, the file, what is wrong, how to rebuild) when a persisted
    vector index in `index_dir` is damaged; return quietly when every one is sound."""
    index_dir = Path(index_dir)
    if not index_dir.is_dir():
        return
    for segment in sorted(p for p in index_dir.iterdir() if SEGMENT.fullmatch(p.name) and p.is_dir()):
        if not (segment / "header.bin").exists():
            continue
        try:
            check_segment(segment)
        except _Damaged as damage:
            raise IndexUnusable(
                f"the index at {index_dir} cannot be read ({segment.name}/{damage.file}: {damage.what}); "
                "if it is damaged, delete the folder and rebuild it with `newsbot ingest corpus/`"
            ) from None


def check_vector_count(index_dir: Path, collection: str) -> None:
    """Raise IndexUnusable when Chroma has vectors for fewer chunks than `collection` holds: its segment folder was
    deleted or replaced by an older or emptier one. What it can have is counted generously (every element of
    header.bin, deleted or not, and every write in the log after the last flush), so a sound index always passes.
    A database that cannot be read, or is not laid out as expected, is left for Chroma to report."""
    index_dir = Path(index_dir)
    database = index_dir / "chroma.sqlite3"
    if not database.is_file():
        return
    try:
        with contextlib.closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5)) as db:
            rows = db.execute(_COUNTS, (collection,)).fetchall()
    except sqlite3.Error:
        return
    if len(rows) != 1:
        return
    segment_id, chunks, flushed, after_flush, logged = rows[0]
    if not chunks or not isinstance(segment_id, str) or not SEGMENT.fullmatch(segment_id):
        return
    segment = index_dir / segment_id
    in_files = _element_count(segment)
    if in_files is None:  # being rewritten by an ingest, or damaged (check_vector_index says how)
        return
    if not in_files or not isinstance(flushed, int):
        after_flush = logged  # no files (or never flushed): Chroma replays the whole log it still holds
    if in_files + after_flush >= chunks:
        return
    state = "is missing" if not segment.is_dir() else "holds too few vectors"
    raise IndexUnusable(
        f"the index at {index_dir} cannot be read (its vector index folder {segment_id} {state}: Chroma has "
        f"vectors for at most {in_files + after_flush} of its {chunks} chunks); {REBUILD}"
    )


def _element_count(segment: Path) -> int | None:
    """The elements header.bin announces (0 without one: no folder, or never flushed), or None when it cannot be
    read whole."""
    try:
        header = (segment / "header.bin").read_bytes()
    except FileNotFoundError:
        return 0
    except OSError:
        return None
    return HEADER.unpack(header)[3] if len(header) == HEADER.size else None


def check_segment(segment: Path) -> None:
    """Check one segment folder's hnswlib files; raises _Damaged."""
    header = _read(segment, "header.bin")
    if len(header) != HEADER.size:
        raise _Damaged("header.bin", f"{len(header)} bytes long, not {HEADER.size}")
    fields = HEADER.unpack(header)
    _check_header(fields)
    (_, _, _, count, size, label_offset, offset_data, maxlevel, enterpoint, max_m, max_m0, _, _, _) = fields
    _check_data(segment / "data_level0.bin", count, size, offset_data, label_offset, max_m0)
    _check_lengths(segment / "length.bin", count)
    levels = _check_link_lists(segment / "link_lists.bin", count, max_m, maxlevel)
    if count and levels[enterpoint] != maxlevel:
        raise _Damaged(
            "link_lists.bin",
            f"the entry point (element {enterpoint}) has {levels[enterpoint]} levels above 0, "
            f"not the {maxlevel} of header.bin",
        )


def _check_header(fields: tuple) -> None:
    (version, offset_level0, max_elements, count, size, label_offset, offset_data, maxlevel, enterpoint, max_m, max_m0,
     m, mult, ef_construction) = fields  # fmt: skip

    def wrong(what: str) -> _Damaged:
        return _Damaged("header.bin", what)

    if version != PERSISTENCE_VERSION:
        raise wrong(f"format version {version}, not {PERSISTENCE_VERSION}")
    if offset_level0 != 0:
        raise wrong(f"level 0 starts at byte {offset_level0}, not 0")
    if not (2 <= m <= max_m <= max_m0 < 2**16):
        raise wrong(f"inconsistent link counts (M {m}, maxM {max_m}, maxM0 {max_m0})")
    if offset_data != 4 + 4 * max_m0:
        raise wrong(f"vectors start at byte {offset_data} of a record, not {4 + 4 * max_m0}")
    if label_offset <= offset_data or (label_offset - offset_data) % 4 or size != label_offset + 8:
        raise wrong(f"inconsistent record layout (size {size}, vector at {offset_data}, label at {label_offset})")
    if not count <= max_elements < 2**32:
        raise wrong(f"{count} elements of at most {max_elements}")
    if not (math.isfinite(mult) and 0 < mult <= 2) or ef_construction < 1:
        raise wrong(f"inconsistent construction parameters (mult {mult:.4g}, ef_construction {ef_construction})")
    if count and not (0 <= maxlevel < 64 and enterpoint < count):
        raise wrong(f"entry point {enterpoint} on level {maxlevel}, not one of the {count} elements")


def _check_data(path: Path, count: int, size: int, offset_data: int, label_offset: int, max_m0: int) -> None:
    file = path.name
    length = _size(path)
    if length < count * size:
        raise _Damaged(file, f"{length} bytes, too short for the {count} elements of {size} bytes in header.bin")
    if count == 0:
        return
    words = np.memmap(path, dtype="<u4", mode="r", shape=(count, size // 4))
    first, last = offset_data // 4, label_offset // 4
    seen = np.arange(max_m0, dtype=np.uint32)
    labels = np.empty(count, dtype="<u8")
    low, high = (1 - NORM_TOLERANCE) ** 2, (1 + NORM_TOLERANCE) ** 2
    with np.errstate(all="ignore"):
        for start in range(0, count, _ROWS):
            block = words[start : start + _ROWS]
            heads = np.asarray(block[:, 0])
            bad = np.flatnonzero(((heads & 0xFFFF) > max_m0) | ((heads >> 16) > 1))
            if bad.size:
                i = int(bad[0])
                raise _Damaged(file, f"element {start + i} has a damaged neighbour count ({int(heads[i]):#010x})")
            ids = np.asarray(block[:, 1 : 1 + max_m0])
            used = seen < (heads & 0xFFFF)[:, None]
            bad = np.flatnonzero((used & (ids >= count)).any(axis=1))
            if bad.size:
                i = int(bad[0])
                neighbour = int(ids[i][used[i] & (ids[i] >= count)][0])
                raise _Damaged(file, f"element {start + i} links to element {neighbour} of {count}")
            vectors = np.asarray(block[:, first:last]).view("<f4")
            squares = np.einsum("ij,ij->i", vectors, vectors)
            bad = np.flatnonzero(~((squares >= low) & (squares <= high)))  # NaN and infinity fail too
            if bad.size:
                i = int(bad[0])
                norm = float(np.linalg.norm(vectors[i].astype(np.float64)))
                what = f"has norm {norm:.4g}" if math.isfinite(norm) else "holds a value that is not a number"
                raise _Damaged(file, f"vector {start + i} {what}")
            labels[start : start + len(block)] = np.ascontiguousarray(block[:, last : last + 2]).view("<u8")[:, 0]
    order = np.argsort(labels, kind="stable")
    twice = np.flatnonzero(labels[order][1:] == labels[order][:-1])
    if twice.size:
        i, j = sorted(int(order[k]) for k in (twice[0], twice[0] + 1))
        raise _Damaged(file, f"elements {i} and {j} have the same label {int(labels[i])}")


def _check_lengths(path: Path, count: int) -> None:
    length = _size(path)
    if length < 4 * count:
        raise _Damaged(path.name, f"{length} bytes, too short for the {count} elements of 4 bytes in header.bin")
    if count == 0:
        return
    lengths = np.memmap(path, dtype="<f4", mode="r", shape=(count,))
    bad = np.flatnonzero(~(np.abs(lengths.astype(np.float64) - 1) <= NORM_TOLERANCE))
    if bad.size:
        i = int(bad[0])
        raise _Damaged(path.name, f"vector {i} has length {float(lengths[i]):.4g}, not 1")


def _check_link_lists(path: Path, count: int, max_m: int, maxlevel: int) -> list[int]:
    """The level of each element, from the sizes of its link lists above level 0."""
    file = path.name
    length = _size(path)
    if length % 4:
        raise _Damaged(file, f"{length} bytes, not a whole number of 4-byte words")
    words = np.fromfile(path, dtype="<u4")
    sizes = words.tolist()
    per_level = 4 + 4 * max_m
    levels = [0] * count
    starts: list[int] = []  # the word where each list above level 0 starts...
    owners: list[int] = []  # ...whose element it is...
    on_level: list[int] = []  # ...and its level
    at = 0
    for element in range(count):
        if at >= len(sizes):
            raise _Damaged(file, f"{length} bytes: it ends before the links of element {element}")
        size = sizes[at]
        level, rest = divmod(size, per_level)
        if rest or level > maxlevel:
            raise _Damaged(file, f"element {element} has a damaged size of its links above level 0 ({size} bytes)")
        if level:
            levels[element] = level
            starts.extend(range(at + 1, at + 1 + level * (1 + max_m), 1 + max_m))
            owners.extend([element] * level)
            on_level.extend(range(1, level + 1))
        at += 1 + size // 4
        if at > len(sizes):
            raise _Damaged(file, f"{length} bytes: it ends inside the links of element {element}")
    if at != len(sizes):
        raise _Damaged(file, f"{length} bytes, {length - 4 * at} more than the links of its {count} elements")
    if not starts:
        return levels
    first = np.array(starts)
    heads = words[first]
    bad = np.flatnonzero(heads > max_m)
    if bad.size:
        k = int(bad[0])
        raise _Damaged(
            file, f"element {owners[k]} has a damaged neighbour count on level {on_level[k]} ({int(heads[k]):#010x})"
        )
    ids = words[first[:, None] + 1 + np.arange(max_m)]
    used = np.arange(max_m) < heads[:, None]
    element_levels = np.array(levels)
    reaches = np.array(on_level)[:, None]
    wrong = used & ((ids >= count) | (element_levels[np.where(used & (ids < count), ids, 0)] < reaches))
    if wrong.any():
        k = int(np.flatnonzero(wrong.any(axis=1))[0])
        neighbour = int(ids[k][wrong[k]][0])
        where = f"element {neighbour} of {count}" if neighbour >= count else f"element {neighbour}, not on that level"
        raise _Damaged(file, f"element {owners[k]} links on level {on_level[k]} to {where}")
    return levels


def _read(segment: Path, name: str) -> bytes:
    try:
        return (segment / name).read_bytes()
    except FileNotFoundError:
        raise _Damaged(name, "missing") from None
    except OSError as error:
        raise _Damaged(name, f"unreadable ({error.strerror or error})") from None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise _Damaged(path.name, "missing") from None
    except OSError as error:
        raise _Damaged(path.name, f"unreadable ({error.strerror or error})") from None
