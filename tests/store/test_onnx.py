"""The onnx-int8 embedding backend: exported from the bundled weights, cached, close to PyTorch, and never mixed
with an index that the other backend built."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bot.chain import NewsBot
from bot.errors import IndexUnusable
from bot.settings import Settings
from bot.store.embedding import LocalEmbeddings, bundled_model_path
from bot.store.indexing import ingest
from bot.store.onnx_model import OnnxEncoder, quantized_model

SENTENCES = [
    "Who stars in What Comes After Love?",
    "Sakaguchi Kentaro and Lee Se-young lead the Coupang Play drama, slated for September 27.",
    "The Eras Tour film broke box office records for a concert movie.",
    "짧은 한국어 문장",
]


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("model-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("NEWSBOT_MODEL_CACHE", str(cache))
    yield cache
    patch.undo()


@pytest.fixture(scope="module")
def torch_model() -> LocalEmbeddings:
    """The sentence-transformers path: the reference the int8 graph is compared with."""
    model = LocalEmbeddings(backend="torch")
    model.load()
    return model


@pytest.fixture(scope="module")
def int8(model_cache: Path) -> LocalEmbeddings:
    model = LocalEmbeddings(backend="onnx-int8")
    model.load()
    return model


def test_int8_vectors_agree_with_pytorch(int8: LocalEmbeddings, torch_model: LocalEmbeddings) -> None:
    fast, reference = int8.encode(SENTENCES), torch_model.encode(SENTENCES)
    assert fast.shape == reference.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    cosines = (fast * reference).sum(axis=1)
    assert cosines.min() > 0.98, cosines
    # Same tokens counted by both, so chunking does not depend on the backend.
    assert int8.count_tokens(SENTENCES) == torch_model.count_tokens(SENTENCES)
    assert int8.max_tokens == torch_model.max_tokens == 256
    # Batching and order do not change a text's vector.
    alone = int8.encode([SENTENCES[1]])[0]
    assert np.allclose(alone, fast[1], atol=1e-4)


def test_sessions_side_by_side_give_each_text_its_own_vector_in_order(int8: LocalEmbeddings) -> None:
    """Texts are shared out among single-threaded sessions and put back in order; threads of the API may use
    the encoder at once. Every text's vector is the one it gets alone, whoever computed it."""
    path = bundled_model_path()
    one, three = OnnxEncoder(path, workers=1), OnnxEncoder(path, workers=3)
    texts = SENTENCES + [f"Episode {n} of the drama aired on Friday." for n in range(7)]
    reference = one.encode(texts)
    assert np.array_equal(three.encode(texts), reference)
    assert np.array_equal(np.vstack([one.encode([text]) for text in texts]), reference)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: three.encode(texts), range(8)))
    assert all(np.array_equal(result, reference) for result in results)


def test_graph_is_exported_once_into_the_cache(int8: LocalEmbeddings, model_cache: Path) -> None:
    graph = quantized_model(bundled_model_path())
    assert graph.is_file() and model_cache in graph.parents
    assert graph.stat().st_size < 30_000_000  # int8: a quarter of the 90 MB float weights
    before = graph.stat().st_mtime_ns
    assert quantized_model(bundled_model_path()) == graph
    assert graph.stat().st_mtime_ns == before
    assert [p.name for p in graph.parent.iterdir()] == ["model-int8.onnx"]  # no half-written leftovers


def test_model_without_mean_pooling_is_refused(tmp_path: Path, model_cache: Path) -> None:
    model = tmp_path / "cls-model"
    shutil.copytree(bundled_model_path(), model)
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    with pytest.raises(
        ValueError, match="needs a mean-pooling sentence-transformers model.*NEWSBOT_EMBEDDING_BACKEND=torch"
    ):
        quantized_model(model)


def test_unknown_backend_is_named() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend 'gpu': use one of torch, onnx-int8"):
        LocalEmbeddings(backend="gpu")


def test_backend_comes_from_the_environment(monkeypatch) -> None:
    assert Settings().embedding_backend == "onnx-int8"  # the default: chosen by docs/benchmarks.md
    assert LocalEmbeddings.from_settings(Settings()).name == "all-MiniLM-L6-v2 (onnx-int8)"
    monkeypatch.setenv("NEWSBOT_EMBEDDING_BACKEND", "torch")
    assert LocalEmbeddings.from_settings(Settings()).name == "all-MiniLM-L6-v2"


def test_int8_index_answers_and_refuses_the_other_backend(
    int8: LocalEmbeddings, torch_model: LocalEmbeddings, tmp_path: Path, article_dir: Path
) -> None:
    settings = Settings(index=tmp_path / "index", embedding_backend="onnx-int8")
    summary = ingest([article_dir / "seeds"], settings, int8, progress=False)
    assert summary.ok and summary.added == 2, summary

    answer = NewsBot(settings, embeddings=int8).ask("Who stars in What Comes After Love?")
    assert not answer.abstained
    assert "seed-2024" in answer.citations[0].article_id

    with pytest.raises(IndexUnusable) as refused:
        NewsBot(settings.model_copy(update={"embedding_backend": "torch"}), embeddings=torch_model).ask("Who stars?")
    assert "built with the embedding model 'all-MiniLM-L6-v2 (onnx-int8)'" in str(refused.value)
    assert "but this run uses 'all-MiniLM-L6-v2'" in str(refused.value)
    assert "NEWSBOT_EMBEDDING_BACKEND=onnx-int8" in str(refused.value)
