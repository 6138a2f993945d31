"""The plain LangChain pipeline that scripts/bench/ingest.py measures newsbot's ingest against.

What a LangChain tutorial would write, on the same model and the same chunks as newsbot: the bundled
all-MiniLM-L6-v2 through langchain_huggingface.HuggingFaceEmbeddings (CPU; its defaults: batch 32, vectors not
normalised), and langchain_chroma.Chroma.from_documents into a fresh directory (Chroma's default space). Its
documents are newsbot's chunks (bot.store.chunking.chunk_article), the chunk text alone, made before any clock
starts. Its packages are the `bench` extra (scripts/install.sh test,bench); they are imported only when used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

COLLECTION = "bench_baseline"


def embeddings(model_path: Path):
    """HuggingFaceEmbeddings of the model folder, on the CPU."""
    from langchain_huggingface import HuggingFaceEmbeddings

    # A local folder: sentence-transformers loads it without the hub (bot sets HF_HUB_OFFLINE=1 too).
    return HuggingFaceEmbeddings(model_name=str(model_path), model_kwargs={"device": "cpu"})


def documents(article, chunks: Sequence) -> list:
    """One LangChain Document per chunk of the article: its text, and where it comes from."""
    from langchain_core.documents import Document

    return [
        Document(
            page_content=chunk.text,
            metadata={"article_id": article.id, "title": article.title, "url": article.url, "chunk": chunk.number},
        )
        for chunk in chunks
    ]


def index(docs: list, model, directory: Path):
    """The whole pipeline: embed the documents with `model` and write them to a new Chroma store in `directory`."""
    import chromadb.config
    from langchain_chroma import Chroma

    return Chroma.from_documents(
        docs,
        model,
        persist_directory=str(directory),
        collection_name=COLLECTION,
        client_settings=chromadb.config.Settings(anonymized_telemetry=False),
    )


def stored(store) -> int:
    """Chunks in a store written by index()."""
    return store._collection.count()
