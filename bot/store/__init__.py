"""Articles -> a searchable index, kept whole: chunks, embeddings, the Chroma store, the keyword index.

The feed watcher (watch.py) lives here rather than in ingest/: it drives indexing, and ingest imports nothing
from a later stage (tests/test_layout.py)."""
