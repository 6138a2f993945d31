"""Shared fixtures: the real model loads once per session; indexes are small and built in temp folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.chain import NewsBot
from bot.settings import Settings
from bot.store.embedding import LocalEmbeddings
from bot.store.indexing import ingest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
SEED_2024 = "id:seed-2024-japanese-korean-romance-dramas"
SEED_2023 = "id:seed-2023-07-25-things-that-come-after-love"


@pytest.fixture(scope="session")
def embeddings() -> LocalEmbeddings:
    model = LocalEmbeddings()
    model.encode(["warm up"])
    return model


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A fresh empty index for one test (small rounds, so that interruption points exist)."""
    return Settings(index=tmp_path / "index", ingest_batch_chunks=16)


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory) -> Settings:
    """The shipped sample corpus, indexed once for all the read-only tests."""
    index = tmp_path_factory.mktemp("corpus-index")
    return Settings(index=index, corpus=CORPUS)


@pytest.fixture(scope="session")
def corpus_bot(corpus_settings: Settings, embeddings: LocalEmbeddings) -> NewsBot:
    summary = ingest([CORPUS], corpus_settings, embeddings, progress=False)
    assert summary.ok and summary.added == 58, summary
    return NewsBot(corpus_settings, embeddings=embeddings)


@pytest.fixture
def article_dir(tmp_path: Path) -> Path:
    """A copy of the two seeds plus a few MultiHop-RAG entertainment articles, free to modify."""
    folder = tmp_path / "articles"
    shutil.copytree(CORPUS / "seeds", folder / "seeds")
    lines = (CORPUS / "multihop-rag-entertainment.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "mh.jsonl").write_text("\n".join(lines[:12]) + "\n", encoding="utf-8")
    return folder
