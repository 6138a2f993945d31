"""Chunks: sentence-aligned, within the token budget, overlapping a little, exact offsets."""

from bot.ingest import make_article
from bot.store.chunking import chunk_article, sentence_spans


def words(texts):
    return [len(t.split()) for t in texts]


def test_sentences_keep_abbreviations_and_break_at_paragraphs():
    text = "Mr. Kim said U.S. fans love it. It opens on Sept. 27.\nA new paragraph starts here"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Mr. Kim said U.S. fans love it.",
        "It opens on Sept. 27.",
        "A new paragraph starts here",
    ]


def test_chunks_respect_budget_overlap_and_offsets():
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(40)]
    article = make_article(title="T", body=" ".join(sentences), where="test")
    chunks = chunk_article(article, words, max_tokens=50, overlap_tokens=10)
    assert len(chunks) > 5
    for chunk in chunks:
        assert article.body[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text.split()) <= 50
        assert chunk.text.startswith("Sentence number") and chunk.text.endswith("words.")
    # Each chunk begins with the last sentence of the one before (7 words fit in the 10-word overlap).
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start < before.end
        assert before.text.endswith(after.text.split(" Sentence number")[0])
    assert chunks[-1].end == len(article.body)


def test_a_sentence_longer_than_a_chunk_is_cut_at_spaces():
    body = " ".join(f"w{i}" for i in range(130)) + "."
    article = make_article(title="T", body=body, where="test")
    chunks = chunk_article(article, words, max_tokens=50, overlap_tokens=0)
    assert [len(c.text.split()) for c in chunks] == [44, 44, 42]
    assert " ".join(c.text for c in chunks) == body
