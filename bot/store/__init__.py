"""Articles -> a searchable index, kept whole: chunks, embeddings, the Chroma store, the keyword index."""
