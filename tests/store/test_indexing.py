"""Incremental, idempotent, interruption-proof ingest into a real Chroma index with the real model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.store.chroma import NewsStore
from bot.store.indexing import ingest
from tests.conftest import ROOT, SEED_2023, SEED_2024


def _ids(settings) -> set[str]:
    store = NewsStore(settings.index, settings.collection)
    return set(store.collection.get(include=[])["ids"])


def _articles(settings) -> dict[str, int]:
    store = NewsStore(settings.index, settings.collection)
    counts: dict[str, int] = {}
    for metadata in store.collection.get(include=["metadatas"])["metadatas"]:
        counts[metadata["article_id"]] = counts.get(metadata["article_id"], 0) + 1
    return counts


def test_metadata_per_chunk(article_dir, settings, embeddings):
    ingest([article_dir], settings, embeddings, progress=False)
    store = NewsStore(settings.index, settings.collection)
    chunks = store.article_chunks(SEED_2023)
    assert [c.metadata["chunk"] for c in chunks] == list(range(len(chunks)))
    first = chunks[0].metadata
    assert first["title"] == "Lee Se-young and Sakaguchi Kentaro in talks to star in Things That Come After Love"
    assert first["published"] == "2023-07-25" and first["published_ts"] == 1690243200 and first["dated"] is True
    assert first["chunk_count"] == len(chunks) and first["start"] == 0
    assert chunks[0].text.startswith("On July 25, 2023, the South Korean media outlet, Newsen, reported")
    assert store.collection.configuration["hnsw"]["space"] == "cosine"


def test_second_run_embeds_nothing(article_dir, settings, embeddings):
    first = ingest([article_dir], settings, embeddings, progress=False)
    assert (first.added, first.updated, first.unchanged, first.failed) == (14, 0, 0, 0)
    before = _ids(settings)
    again = ingest([article_dir], settings, embeddings, progress=False)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 14, 0)
    assert "Nothing to embed: the index was already up to date." in str(again)
    assert _ids(settings) == before


def test_changed_article_replaces_its_chunks(article_dir, settings, embeddings):
    ingest([article_dir], settings, embeddings, progress=False)
    old_ids = {i for i in _ids(settings) if i.startswith(SEED_2023)}
    seed = article_dir / "seeds" / "2023-07-25-things-that-come-after-love-casting.md"
    seed.write_text(seed.read_text(encoding="utf-8") + "\nUpdate: the casting was confirmed in 2024.\n", "utf-8")

    summary = ingest([article_dir], settings, embeddings, progress=False)
    assert (summary.added, summary.updated, summary.unchanged) == (0, 1, 13)
    new_ids = {i for i in _ids(settings) if i.startswith(SEED_2023)}
    assert new_ids and not new_ids & old_ids
    store = NewsStore(settings.index, settings.collection)
    chunks = store.article_chunks(SEED_2023)
    assert len(chunks) == chunks[0].metadata["chunk_count"] == len(new_ids)
    assert chunks[-1].text.endswith("Update: the casting was confirmed in 2024.")


def test_prune_removes_articles_whose_file_is_gone(article_dir, settings, embeddings):
    ingest([article_dir], settings, embeddings, progress=False)
    (article_dir / "seeds" / "2024-what-comes-after-love-romance-dramas.md").unlink()
    kept = ingest([article_dir], settings, embeddings, progress=False)
    assert kept.removed == 0 and SEED_2024 in _articles(settings)

    pruned = ingest([article_dir], settings, embeddings, prune=True, progress=False)
    assert pruned.removed == 1
    assert SEED_2024 not in _articles(settings) and len(_articles(settings)) == 13


def test_prune_removes_records_dropped_from_a_file(article_dir, settings, embeddings):
    ingest([article_dir], settings, embeddings, progress=False)
    jsonl = article_dir / "mh.jsonl"
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    jsonl.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    summary = ingest([article_dir], settings, embeddings, prune=True, progress=False)
    assert (summary.removed, summary.unchanged) == (1, 13)


def test_bad_files_are_reported_and_nothing_stored_is_lost(article_dir, settings, embeddings, capsys):
    ingest([article_dir], settings, embeddings, progress=False)
    before = _ids(settings)
    bad = article_dir / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("", encoding="utf-8")
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02garbage\x00")
    (bad / "broken.json").write_text('{"title": "x", "body": ', encoding="utf-8")
    (bad / "good.txt").write_text("A fine title\nThe body of a good article about a premiere.\n", "utf-8")
    # A file that became unreadable must not lose the articles it had: the seed turns to garbage.
    seed = article_dir / "seeds" / "2024-what-comes-after-love-romance-dramas.md"
    seed.write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")

    code = main(["ingest", str(article_dir), "--prune", "--quiet", "--index", str(settings.index)])
    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert sorted(errors) == sorted(
        [
            f"error: {bad.resolve() / 'empty.txt'}: the file is empty",
            f"error: {bad.resolve() / 'binary.txt'}: binary file (contains NUL bytes), not text",
            f"error: {bad.resolve() / 'broken.json'}: invalid JSON at line 1 column 24: Expecting value",
            f"error: {seed.resolve()}: malformed YAML front matter: " + errors_for(seed),
        ]
    )
    assert "articles: 1 added, 0 updated, 13 unchanged, 0 removed, 4 failed" in captured.out
    after = _ids(settings)
    assert before < after  # everything kept, the good file added
    assert SEED_2024 in _articles(settings)


def errors_for(path: Path) -> str:
    from bot.ingest import read_file

    return read_file(path.resolve()).errors[0].split("malformed YAML front matter: ", 1)[1]


def test_interrupted_write_is_completed_by_the_next_run(article_dir, settings, embeddings):
    """Leftovers of a crash between writing a new version and deleting the old one, and a half-written
    version: the next run leaves exactly what a clean build has."""
    ingest([article_dir], settings, embeddings, progress=False)
    clean = _ids(settings)
    store = NewsStore(settings.index, settings.collection)
    chunk = store.article_chunks(SEED_2023)[0]
    stale = {**chunk.metadata, "version": "0123456789abcdef", "chunk_count": 3}
    store.write([f"{SEED_2023}|0123456789abcdef|0"], [chunk.text], [[0.1] * 384], [stale])
    partial = store.article_chunks(SEED_2024)
    store.collection.delete(ids=[partial[-1].chunk_id])  # the last chunk of its only version is missing

    summary = ingest([article_dir], settings, embeddings, progress=False)
    assert summary.added == 1 and summary.unchanged == 13
    assert _ids(settings) == clean


def test_killed_ingest_recovers_to_a_clean_build(article_dir, settings, embeddings, tmp_path):
    more = (ROOT / "corpus" / "multihop-rag-entertainment.jsonl").read_text(encoding="utf-8")
    (article_dir / "mh.jsonl").write_text(more, encoding="utf-8")
    clean_settings = settings.model_copy(update={"index": tmp_path / "clean"})
    ingest([article_dir], clean_settings, embeddings, progress=False)

    env = {**os.environ, "NEWSBOT_INGEST_BATCH_CHUNKS": "8", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bot.cli", "ingest", str(article_dir), "--verbose", "--quiet"]
    process = subprocess.Popen(
        [*command, "--index", str(settings.index)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    written = 0
    for line in process.stderr:
        written += line.startswith("wrote ")
        if written == 3:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, "the ingest ended before it could be killed"
    partial = _ids(settings)
    assert partial and partial < _ids(clean_settings)

    summary = ingest([article_dir], settings, embeddings, progress=False)
    assert summary.ok and summary.updated == 0
    assert _ids(settings) == _ids(clean_settings)


def test_failed_write_stops_the_ingest_and_the_rerun_completes(article_dir, settings, embeddings, tmp_path):
    """A write that fails is raised, nothing after it is written, and the next run builds what a clean build
    has."""
    clean_settings = settings.model_copy(update={"index": tmp_path / "clean"})
    ingest([article_dir], clean_settings, embeddings, progress=False)
    store = NewsStore(settings.index, settings.collection)
    write, calls = store.write, []

    def failing_write(ids, *args):
        calls.append(ids[0])
        if len(calls) == 2:
            raise OSError("No space left on device")
        write(ids, *args)

    store.write = failing_write
    with pytest.raises(OSError, match="No space left on device"):
        ingest([article_dir], settings, embeddings, progress=False, store=store)
    assert len(calls) == 2
    assert 0 < len(_ids(settings)) < len(_ids(clean_settings))

    summary = ingest([article_dir], settings, embeddings, progress=False)
    assert summary.ok
    assert _ids(settings) == _ids(clean_settings)


def test_index_built_with_another_model_is_refused(settings, embeddings, article_dir):
    NewsStore(settings.index, settings.collection, embedding_model="some-other-model")
    from bot.errors import IndexUnusable

    with pytest.raises(IndexUnusable, match="was built with the embedding model 'some-other-model'"):
        ingest([article_dir], settings, embeddings, progress=False)


def test_a_missing_path_is_reported_and_the_index_is_not_called_up_to_date(tmp_path, capsys):
    missing = tmp_path / "nonexistent"
    assert main(["ingest", str(missing), "--quiet", "--index", str(tmp_path / "index")]) == 1
    out, err = capsys.readouterr()
    assert f"error: {missing}: no such file or folder\n" in err
    assert out.startswith("articles: 0 added, 0 updated, 0 unchanged, 0 removed, 1 failed;")
    assert "up to date" not in out and "Nothing to embed" not in out


def test_up_to_date_is_said_only_when_every_input_was_unchanged():
    from bot.store.indexing import IngestSummary

    up_to_date = "Nothing to embed: the index was already up to date."
    assert str(IngestSummary(unchanged=14)).endswith("\n" + up_to_date)
    for summary in (
        IngestSummary(),  # nothing found at all
        IngestSummary(failed=1),  # a missing path
        IngestSummary(unchanged=14, failed=1),  # not every input made it into the index
        IngestSummary(removed=1, unchanged=13),  # --prune changed the index
    ):
        assert up_to_date not in str(summary), summary
    assert str(IngestSummary()).endswith(
        "\nNo articles found in the given paths (`newsbot ingest --help` lists the formats read)."
    )
    assert str(IngestSummary(failed=1)).count("\n") == 0
