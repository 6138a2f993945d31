"""Faults the index survives: a real `newsbot ingest` SIGKILLed at seeded random points, and damaged or
half-written index files. The outcome is always either the index a clean build gives, a correct answer from a
self-repaired part, or one `newsbot: error:` line saying how to rebuild: never a traceback or a wrong answer.
"""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from bot.chain import NewsBot
from bot.cli import main
from bot.settings import Settings
from bot.store.indexing import ingest
from bot.store.vector_check import HEADER, check_vector_index
from bot.web.api import create_app
from tests.conftest import CORPUS, SEED_2023
from tests.fault_helpers import ROOT, add_filler_chunks, differences, index_state, kill_ingest

SEED = 20240927  # the kill points below are drawn from this seed: a failure can be replayed exactly
QUESTION = "Who stars in What Comes After Love?"
REBUILD = "if it is damaged, delete the folder and rebuild it with `newsbot ingest corpus/`"


def _articles(folder: Path, mh_lines: int = 12) -> Path:
    shutil.copytree(CORPUS / "seeds", folder / "seeds")
    lines = (CORPUS / "multihop-rag-entertainment.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "mh.jsonl").write_text("\n".join(lines[:mh_lines]) + "\n", encoding="utf-8")
    return folder


def _revise(folder: Path, number: int) -> None:
    """Change every article (so the next ingest re-embeds them all, writing new versions before deleting old)."""
    for seed in (folder / "seeds").glob("*.md"):
        seed.write_text(seed.read_text(encoding="utf-8") + f"\nRevision {number}: the story was updated.\n", "utf-8")
    records = [json.loads(line) for line in (folder / "mh.jsonl").read_text(encoding="utf-8").splitlines()]
    for record in records:
        record["body"] += f" Revision {number}."
    (folder / "mh.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


# --- an ingest killed at random points ----------------------------------------------------------------------------


@dataclass
class Trial:
    name: str
    change: Callable[[Path], None]  # what happens to the articles before this ingest
    prune: bool = False


def test_ingest_killed_at_seeded_random_points_always_recovers_to_a_clean_build(tmp_path, embeddings):
    """Three ingests, each SIGKILLed once (after a seeded number of chunks written, plus a seeded delay): adding
    articles, replacing every article by a new version, and replacing them again with a file gone (--prune). Each
    time the next run completes the index, which then equals a clean build of the same files in another folder:
    same articles, same chunk ids (no duplicates, no stale versions), same chunk counts, keyword index in step."""
    rng = random.Random(SEED)
    folder = _articles(tmp_path / "articles", mh_lines=6)  # 20 chunks: enough rounds of 2 to kill in
    trials = [
        Trial("new articles", lambda _: None),
        Trial("every article changed", lambda f: _revise(f, 1)),
        Trial("changed again, one file gone", lambda f: (_revise(f, 2), next(f.glob("seeds/2024-*")).unlink()), True),
    ]
    previous: Path | None = None
    for number, trial in enumerate(trials, 1):
        trial.change(folder)
        clean = Settings(index=tmp_path / f"clean-{number}")
        ingest([folder], clean, embeddings, prune=trial.prune, progress=False)
        clean_state = index_state(clean.index)
        total = len(clean_state.chunk_ids)

        killed = tmp_path / f"killed-{number}"
        if previous is not None:  # a new folder each time: this process never reads a path another one wrote
            shutil.copytree(previous, killed)
        kill = kill_ingest(
            [folder],
            killed,
            after_chunks=rng.randint(2, total // 2),
            # at a batch boundary, or somewhere in the next round (a round of 2 chunks: about 30 ms with onnx-int8)
            delay=rng.choice([0.0, rng.uniform(0.0, 0.03)]),
            batch_chunks=2,
            prune=trial.prune,
        )
        assert kill.killed, f"{trial.name}: the ingest ended before it could be killed ({kill})"
        assert differences(index_state(killed), clean_state), f"{trial.name}: the kill left nothing to complete"

        summary = ingest([folder], Settings(index=killed), embeddings, prune=trial.prune, progress=False)
        assert summary.ok, summary.errors
        assert summary.added + summary.updated + summary.unchanged == len(clean_state.articles)
        assert differences(index_state(killed), clean_state) == [], f"{trial.name}, {kill}"
        assert index_state(killed).keyword_in_step
        previous = killed


# --- damaged or half-written index files --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, embeddings) -> Path:
    """14 articles (25 chunks): few enough that Chroma keeps their vectors in its write log."""
    folder = tmp_path_factory.mktemp("faults")
    settings = Settings(index=folder / "index")
    ingest([_articles(folder / "articles")], settings, embeddings, progress=False)
    return settings.index


@pytest.fixture(scope="module")
def large_index(small_index, tmp_path_factory) -> Path:
    """The same plus 1,000 filler chunks: past Chroma's sync threshold, so its vector index lives in the segment
    folder's files rather than in its write log."""
    index = tmp_path_factory.mktemp("faults-large") / "index"
    shutil.copytree(small_index, index)
    add_filler_chunks(index, 1000)
    return index


def _copy(index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    return copy


def _segment(index: Path) -> Path:
    """Chroma's vector index of the collection: the folder named by a UUID."""
    (folder,) = [p for p in index.iterdir() if p.is_dir() and re.fullmatch(r"[0-9a-f-]{36}", p.name)]
    return folder


def _keyword_folder(index: Path) -> Path:
    (folder,) = index.glob("bm25-*")
    return folder


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def clean_answers(small_index, large_index, embeddings) -> dict[Path, str]:
    """What `newsbot ask QUESTION` prints on each undamaged index."""
    from io import StringIO

    from bot.cli.commands import _print_answer

    answers = {}
    for index in (small_index, large_index):
        out = StringIO()
        _print_answer(NewsBot(Settings(index=index), embeddings=embeddings).ask(QUESTION), out)
        answers[index] = out.getvalue()
    return answers


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("half-written (first 4 KiB)", "(code: 11) database disk image is malformed"),
        ("garbled", "(code: 26) file is not a database"),
    ],
)
def test_a_damaged_chroma_database_is_one_error_line_saying_how_to_rebuild(
    damage, reason, small_index, tmp_path, capsys, embeddings
):
    index = _copy(small_index, tmp_path)
    database = index / "chroma.sqlite3"
    database.write_bytes(database.read_bytes()[:4096] if damage.startswith("half") else b"garbage!" * 4096)
    expected = (
        f"newsbot: error: cannot open the index at {index} (InternalError: error returned from database: "
        f"{reason}); {REBUILD}\n"
    )
    for argv in (["ask", QUESTION], ["ingest", str(CORPUS / "seeds"), "--quiet"]):
        assert _cli([*argv, "--index", str(index)], capsys) == (1, "", expected)


def test_an_emptied_chroma_database_says_the_index_is_empty_and_an_ingest_rebuilds_it(
    small_index, tmp_path, capsys, embeddings
):
    """A zero-byte chroma.sqlite3 (the disk filled up while it was being replaced) holds nothing: Chroma starts
    a new database in it, the bot says so, and the next ingest makes it whole again."""
    index = _copy(small_index, tmp_path)
    (index / "chroma.sqlite3").write_bytes(b"")
    empty = f"The index at {index} is empty: add articles with `newsbot ingest PATH`.\n"
    assert _cli(["ask", QUESTION, "--index", str(index)], capsys) == (0, empty, "")
    folder = _articles(tmp_path / "articles")
    assert ingest([folder], Settings(index=index), embeddings, progress=False).ok
    assert differences(index_state(index), index_state(small_index)) == []


def test_a_deleted_vector_index_is_one_error_line_and_a_503_saying_how_to_rebuild(
    small_index, large_index, clean_answers, embeddings, tmp_path, capsys
):
    """Chroma keeps only its latest writes in its log: with the vector index folder deleted it silently searches
    those alone. Here 60 chunks were rewritten after the last flush, enough to fill a page of results, so nothing
    looked wrong and the answers came from BM25 and unrelated chunks. Now the index is refused: a server already
    running answers 503 with the same message on /healthz, /api/ask and /api/chat, and `ask` and `ingest` stop
    with that line (exit status 1). A small index's folder holds nothing its log does not: deleting it is harmless."""
    index = _copy(large_index, tmp_path)
    add_filler_chunks(index, 60, seed=1)  # rewrites after the last flush: in Chroma's log only
    settings = Settings(index=index, rate_per_minute=0)
    app = create_app(settings, bot=NewsBot(settings, embeddings=embeddings), ui=False)
    segment = _segment(index)
    shutil.rmtree(segment)
    refused = (
        rf"the index at {re.escape(str(index))} cannot be read \(its vector index folder {segment.name} "
        r"(is missing|holds too few vectors): Chroma has vectors for at most \d+ of its 1025 chunks\); "
        r"delete the index folder and rebuild it with `newsbot ingest corpus/`"
    )
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as client:
        health = client.get("/healthz")
        assert health.status_code == 503 and re.fullmatch(refused, health.json()["error"])
        for route in ("/api/ask", "/api/chat"):
            answer = client.post(route, json={"question": QUESTION})
            assert (answer.status_code, answer.json()) == (503, {"error": health.json()["error"]}), route
    for argv in (["ask", QUESTION], ["ingest", str(CORPUS / "seeds"), "--quiet"]):
        code, out, err = _cli([*argv, "--index", str(index)], capsys)
        assert (code, out) == (1, "") and re.fullmatch(f"newsbot: error: {refused}\n", err), err

    small = tmp_path / "small"
    shutil.copytree(small_index, small)
    shutil.rmtree(_segment(small))
    assert _cli(["ask", QUESTION, "--index", str(small)], capsys) == (0, clean_answers[small_index], "")


def test_a_database_damaged_while_serving_is_a_503_with_the_message_of_healthz(small_index, embeddings, tmp_path):
    """chroma.sqlite3 overwritten under a running server: /healthz and every route that reads the index answer
    503 with one message saying how to rebuild (not a 500 saying nothing)."""
    index = _copy(small_index, tmp_path)
    settings = Settings(index=index, rate_per_minute=0)
    app = create_app(settings, bot=NewsBot(settings, embeddings=embeddings), ui=False)
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as client:
        assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200
        with (index / "chroma.sqlite3").open("r+b") as database:
            database.write(b"garbage!" * 512)
        error = {
            "error": f"the index at {index} cannot be read (InternalError: Database error: error returned from "
            f"database: (code: 26) file is not a database); {REBUILD}"
        }
        for route in ("/api/ask", "/api/chat"):
            answer = client.post(route, json={"question": QUESTION})
            assert (answer.status_code, answer.json()) == (503, error), route
        article = client.get(f"/api/articles/{quote(SEED_2023, safe='')}")
        assert (article.status_code, article.json()) == (503, error)
        health = client.get("/healthz")
        assert (health.status_code, health.json()) == (503, {"ok": False, **error})


def test_a_garbled_vector_index_metadata_file_is_one_error_line_saying_how_to_rebuild(large_index, tmp_path, capsys):
    """Every read of the collection first applies Chroma's write log to the vector index, so a garbled file
    stops `ask` and `ingest` alike: one line, exit status 1."""
    index = _copy(large_index, tmp_path)
    (_segment(index) / "index_metadata.pickle").write_bytes(b"not a pickle")
    expected = (
        f"newsbot: error: the index at {index} cannot be read (InternalError: Error executing plan: Error sending "
        "backfill request to compactor: Error constructing hnsw segment reader: Error creating hnsw segment reader: "
        f"Error deserializing pickle file: eval error at offset 1: unsupported opcode 'n'); {REBUILD}\n"
    )
    for argv in (["ask", QUESTION], ["ingest", str(CORPUS / "seeds"), "--quiet"]):
        assert _cli([*argv, "--index", str(index)], capsys) == (1, "", expected)


# hnswlib loads its files without any check: the damage below crashed the process (a segfault on the first
# search) or gave silently wrong searches and embeddings, until bot.store.vector_check checked them first.

_ELEMENT = 517  # an element of the large index (1,025 elements) whose record is damaged


def _layout(segment: Path) -> dict[str, int]:
    """The numbers of header.bin that place records in data_level0.bin and lists in link_lists.bin."""
    fields = HEADER.unpack((segment / "header.bin").read_bytes())
    names = ("count", "size", "label_offset", "offset_data", "max_m")
    return dict(zip(names, (fields[3], fields[4], fields[5], fields[6], fields[9]), strict=True))


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(data)


def _garbled_middle(segment: Path) -> str:
    """Seeded random bytes over the middle half of data_level0.bin: the segfault this check was written for."""
    data = segment / "data_level0.bin"
    start, length, size = data.stat().st_size // 4, data.stat().st_size // 2, _layout(segment)["size"]
    garbage = random.Random(SEED).randbytes(length)
    _overwrite(data, start, garbage)
    element = -(-start // size)  # the first record whose neighbour count is garbage
    word = int.from_bytes(garbage[element * size - start :][:4], "little")
    return f"data_level0.bin: element {element} has a damaged neighbour count ({word:#010x})"


def _garbled_links(segment: Path) -> str:
    _overwrite(segment / "data_level0.bin", _ELEMENT * _layout(segment)["size"], b"\xff" * 132)
    return f"data_level0.bin: element {_ELEMENT} has a damaged neighbour count (0xffffffff)"


def _garbled_neighbour(segment: Path) -> str:
    """A neighbour id past the last element (every element of the graph has at least one neighbour)."""
    _overwrite(segment / "data_level0.bin", _ELEMENT * _layout(segment)["size"] + 4, (0xFFFFFF00).to_bytes(4, "little"))
    return f"data_level0.bin: element {_ELEMENT} links to element 4294967040 of 1025"


def _garbled_vector(segment: Path) -> str:
    layout = _layout(segment)
    _overwrite(segment / "data_level0.bin", _ELEMENT * layout["size"] + layout["offset_data"], b"\x7f" * 64)
    return f"data_level0.bin: vector {_ELEMENT} has norm 1.358e+39"  # 16 floats of 3.4e38


def _nan_in_vector(segment: Path) -> str:
    layout = _layout(segment)
    _overwrite(segment / "data_level0.bin", _ELEMENT * layout["size"] + layout["offset_data"] + 40, b"\xff" * 4)
    return f"data_level0.bin: vector {_ELEMENT} holds a value that is not a number"


def _truncated_data(segment: Path) -> str:
    data = segment / "data_level0.bin"
    half = data.stat().st_size // 2
    data.write_bytes(data.read_bytes()[:half])
    return f"data_level0.bin: {half} bytes, too short for the 1025 elements of 1676 bytes in header.bin"


def _garbled_length(segment: Path) -> str:
    _overwrite(segment / "length.bin", 4 * _ELEMENT, struct.pack("<f", 7.0))
    return f"length.bin: vector {_ELEMENT} has length 7, not 1"


def _garbled_link_list_size(segment: Path) -> str:
    _overwrite(segment / "link_lists.bin", 0, b"\xff" * 64)
    return "link_lists.bin: element 0 has a damaged size of its links above level 0 (4294967295 bytes)"


def _garbled_link_list(segment: Path) -> str:
    """The first list above level 0 made to hold one neighbour id past the last element."""
    path, per_list = segment / "link_lists.bin", 4 + 4 * _layout(segment)["max_m"]
    words = path.read_bytes()
    at = element = 0
    while (size := int.from_bytes(words[at : at + 4], "little")) == 0:
        at, element = at + 4, element + 1
    assert size % per_list == 0
    _overwrite(path, at + 4, struct.pack("<II", 1, 0xFFFFFF00))
    return f"link_lists.bin: element {element} links on level 1 to element 4294967040 of 1025"


def _link_lists_with_bytes_appended(segment: Path) -> str:
    path = segment / "link_lists.bin"
    length = path.stat().st_size
    path.write_bytes(path.read_bytes() + bytes(8))
    return f"link_lists.bin: {length + 8} bytes, 8 more than the links of its 1025 elements"


def _garbled_header(segment: Path) -> str:
    (segment / "header.bin").write_bytes(b"xx")
    return "header.bin: 2 bytes long, not 100"


VECTOR_DAMAGE: dict[str, Callable[[Path], str]] = {
    # damage -> what does it to the segment folder and returns the error's "file: what is wrong"
    "data_level0.bin: random bytes over its middle": _garbled_middle,
    "data_level0.bin garbled in a record's links": _garbled_links,
    "data_level0.bin: a neighbour out of range": _garbled_neighbour,
    "data_level0.bin garbled in a vector": _garbled_vector,
    "data_level0.bin: NaN in a vector": _nan_in_vector,
    "data_level0.bin truncated": _truncated_data,
    "length.bin garbled": _garbled_length,
    "link_lists.bin garbled in a size": _garbled_link_list_size,
    "link_lists.bin garbled in a list": _garbled_link_list,
    "link_lists.bin with bytes appended": _link_lists_with_bytes_appended,
    "header.bin garbled": _garbled_header,
}


def _vector_damage_error(index: Path, reason: str) -> str:
    return f"newsbot: error: the index at {index} cannot be read ({_segment(index).name}/{reason}); {REBUILD}\n"


@pytest.mark.parametrize("damage", list(VECTOR_DAMAGE))
def test_a_damaged_vector_index_file_is_one_error_line_saying_how_to_rebuild(damage, large_index, tmp_path, capsys):
    """Checked before Chroma opens the folder (bot.store.vector_check): `ask` and `ingest` alike stop with one line
    naming the file and what is wrong, exit status 1, rather than crashing or searching garbage."""
    index = _copy(large_index, tmp_path)
    reason = VECTOR_DAMAGE[damage](_segment(index))
    for argv in (["ask", QUESTION], ["ingest", str(CORPUS / "seeds"), "--quiet"]):
        assert _cli([*argv, "--index", str(index)], capsys) == (1, "", _vector_damage_error(index, reason))


def test_random_bytes_in_the_vector_data_no_longer_crash_newsbot(large_index, tmp_path):
    """The damage that made `newsbot ask` die of a segfault (status -11, nothing printed), in a process of its
    own: now status 1 and the one line."""
    index = _copy(large_index, tmp_path)
    reason = _garbled_middle(_segment(index))
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", QUESTION, "--index", str(index)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode, done.stdout, done.stderr) == (1, "", _vector_damage_error(index, reason))


def test_the_vector_index_check_passes_intact_indexes(small_index, large_index, tmp_path):
    """The small index's vector index holds no element yet (its vectors are in Chroma's write log); the large
    one's holds them all. A folder without hnswlib's files (a collection never flushed) is skipped."""
    assert _layout(_segment(small_index))["count"] == 0
    assert _layout(_segment(large_index))["count"] == 1025
    for index in (small_index, large_index):
        check_vector_index(index)
    fresh = _copy(small_index, tmp_path)
    for path in _segment(fresh).iterdir():
        path.unlink()
    check_vector_index(fresh)


KEYWORD_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    # damage -> (what is done to the index folder, the reason logged)
    "bm25.json garbled": (
        lambda index: (index / "bm25.json").write_text("{not json", encoding="utf-8"),
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    ),
    "bm25.json of the wrong shape": (
        lambda index: (index / "bm25.json").write_text("[]", encoding="utf-8"),
        "list indices must be integers or slices, not str",
    ),
    "bm25 folder deleted": (
        lambda index: shutil.rmtree(_keyword_folder(index)),
        "[Errno 2] No such file or directory: '{folder}/chunks.json'",
    ),
    "chunks.json half-written": (
        lambda index: (_keyword_folder(index) / "chunks.json").write_text('{"stamp": "25-', encoding="utf-8"),
        "Unterminated string starting at: line 1 column 11 (char 10)",
    ),
    "vectors.npy half-written": (
        lambda index: (lambda path: path.write_bytes(path.read_bytes()[:20000]))(
            _keyword_folder(index) / "vectors.npy"
        ),
        "mmap length is greater than file size",
    ),
}


@pytest.mark.parametrize("damage", list(KEYWORD_DAMAGE))
def test_a_damaged_keyword_index_is_rebuilt_and_the_answer_is_unchanged(
    damage, small_index, clean_answers, tmp_path, capsys, caplog
):
    index = _copy(small_index, tmp_path)
    folder = _keyword_folder(index)
    make_damage, reason = KEYWORD_DAMAGE[damage]
    make_damage(index)
    with caplog.at_level(logging.INFO, logger="bot"):
        assert _cli(["ask", QUESTION, "--index", str(index)], capsys) == (0, clean_answers[small_index], "")
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.store.keyword" or r.name == "bot.store.indexing"]
    assert logged[-1] == "keyword index rebuilt: 25 chunks"
    (unreadable,) = logged[:-1]
    assert unreadable == f"keyword index in {index} unreadable ({reason.format(folder=folder)}): it will be rebuilt"
    repaired = index_state(index)
    assert repaired.keyword_in_step and differences(repaired, index_state(small_index)) == []
