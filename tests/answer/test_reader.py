"""The trained reader (issue 16): scripts/train/train_reader.py trains and exports one end to end on a tiny sample, the
loader reads it or names the file it lacks, and the answerer wired to it still answers with citations."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answer import reader
from bot.answer.extractive import ExtractiveAnswerer
from bot.chain import NewsBot
from bot.settings import Settings
from bot.store.embedding import bundled_model_path
from tests.conftest import ROOT, SHARED

TRAINING_DATA = SHARED / "datasets" / "realtimeqa-train"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A reader trained for 3 steps on 20 training questions (5 validation ones), as the recipe builds it."""
    if not (TRAINING_DATA / "questions.jsonl").is_file():
        pytest.skip(f"no training data at {TRAINING_DATA}")
    out = tmp_path_factory.mktemp("reader") / "model"
    command = [
        sys.executable,
        str(ROOT / "scripts" / "train" / "train_reader.py"),
        *("--limit-questions", "20", "--max-steps", "3", "--no-baselines", "--out", str(out)),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "validation:" in done.stdout
    return out


def test_the_training_script_writes_a_small_int8_model_with_its_tokenizer(tiny_model):
    for name in (reader.MODEL_FILE, reader.TOKENIZER_FILE, reader.CONFIG_FILE, "validation.json"):
        assert (tiny_model / name).is_file(), name
    assert sum(f.stat().st_size for f in tiny_model.iterdir()) < 30_000_000
    config = json.loads((tiny_model / reader.CONFIG_FILE).read_text())
    assert config["input_format"] == reader.INPUT_FORMAT and config["steps"] == 3
    figures = json.loads((tiny_model / "validation.json").read_text())["top-1 holds a gold answer (validation)"]
    assert all(0.0 <= value <= 1.0 for value in figures.values())
    # the refusal threshold is calibrated on the validation questions and travels with the model
    refusal = json.loads((tiny_model / "validation.json").read_text())["refusal (validation)"]
    assert isinstance(config["refuse_below"], float) and config["refuse_below"] == refusal["refuse_below"]
    assert reader.Reader(tiny_model).refuse_below == config["refuse_below"]
    assert (
        config["margin_scale"] in (1.0, 1.5, 2.0, 3.0)
        and reader.Reader(tiny_model).margin_scale == config["margin_scale"]
    )


def test_the_reader_gives_one_finite_score_per_candidate(tiny_model):
    candidates = [
        reader.Passage(
            "Sakaguchi Kentaro and Lee Se-young star in the drama.", "A new romance drama", "2024-09-01", "It is new."
        ),
        reader.Passage("The weather was fine on Tuesday.", "Weather", ""),
        "A bare sentence, with no title or date.",
    ]
    scores = reader.score("Who stars in the drama?", candidates, tiny_model)
    assert len(scores) == 3 and all(math.isfinite(s) for s in scores)
    assert reader.load(tiny_model) is reader.load(tiny_model)  # loaded once per process
    assert reader.score("Who?", [], tiny_model) == []
    # one candidate at a time: a candidate's score does not depend on the others
    assert reader.score("Who stars in the drama?", candidates[:1], tiny_model)[0] == pytest.approx(scores[0])


def test_a_missing_model_file_is_named(tmp_path):
    with pytest.raises(
        reader.ReaderModelError, match=re.escape(f"reader model file missing: {tmp_path / reader.MODEL_FILE}")
    ):
        reader.Reader(tmp_path)
    with pytest.raises(reader.ReaderModelError, match="reader model file missing"):
        ExtractiveAnswerer(embeddings=None, reader="trained", reader_model=tmp_path / "nowhere")


def test_a_damaged_model_file_is_named(tmp_path):
    shutil.copyfile(bundled_model_path() / "tokenizer.json", tmp_path / reader.TOKENIZER_FILE)
    (tmp_path / reader.CONFIG_FILE).write_text(json.dumps({"input_format": reader.INPUT_FORMAT}))
    (tmp_path / reader.MODEL_FILE).write_bytes(b"not an onnx graph")
    with pytest.raises(
        reader.ReaderModelError, match=re.escape(f"reader model file unreadable: {tmp_path / reader.MODEL_FILE}")
    ):
        reader.Reader(tmp_path)
    (tmp_path / reader.CONFIG_FILE).write_text(json.dumps({"input_format": "something older"}))
    with pytest.raises(reader.ReaderModelError, match="train the reader again"):
        reader.Reader(tmp_path)


def test_the_model_folder_is_the_package_one_unless_the_environment_names_another(monkeypatch, tmp_path):
    monkeypatch.delenv(reader.ENVIRONMENT, raising=False)
    assert reader.model_dir() == reader.MODEL_DIR
    monkeypatch.setenv(reader.ENVIRONMENT, str(tmp_path))
    assert reader.model_dir() == tmp_path


def test_the_default_answerer_does_not_load_the_reader():
    assert Settings.model_fields["reader"].default == "features"
    assert ExtractiveAnswerer(embeddings=None).reader is None
    with pytest.raises(ValueError, match="unknown reader"):
        ExtractiveAnswerer(embeddings=None, reader="llm")


def test_with_the_trained_reader_the_bot_still_answers_and_cites(tiny_model, corpus_bot, corpus_settings, monkeypatch):
    monkeypatch.setenv(reader.ENVIRONMENT, str(tiny_model))
    settings = corpus_settings.model_copy(update={"reader": "trained"})
    bot = NewsBot(settings, embeddings=corpus_bot.embeddings)
    assert bot.answerer.reader is not None
    answer = bot.ask("Who stars in What Comes After Love?")
    assert not answer.abstained and answer.citations
    for citation in answer.citations:
        assert f"[{citation.n}]" in answer.answer
        for quote in citation.quotes:
            assert quote.text.strip() in answer.answer


@pytest.mark.parametrize(
    ("question", "title", "answering", "others"),
    [
        (
            "Who directed the film The Glass Orchard?",
            "News",
            "The Glass Orchard was directed by Mira Holt, who also wrote the script.",
            [
                "The Glass Orchard opened in 3,000 theaters on Friday.",
                "Tickets for the premiere sold out within an hour.",
                "The weather in the city was cold and wet all week.",
            ],
        ),
        (
            "When does the series Tidewater premiere?",
            "Tidewater gets a premiere date",
            "Tidewater will premiere on VTV1 on February 2, 2025.",
            ["Tidewater stars Baek Do-hyun and Lise Amundrud.", "The channel said ratings had been strong this year."],
        ),
        (
            "Who won best actress at the Fjordlight festival?",
            "Fjordlight festival winners",
            "The best actress prize went to Nadia Fontaine for Low Water.",
            [
                "The festival screened 94 films from 31 countries.",
                "The jury called the winning film a film that listens.",
            ],
        ),
        pytest.param(
            "How many episodes does Harbor of Glass have?",
            "Harbor of Glass gets a May premiere",
            "The season has grown to ten episodes, up from eight.",
            ["Harbor of Glass stars Maya Okafor.", "A first trailer was released on Monday."],
            marks=pytest.mark.xfail(
                strict=True, reason="a sentence repeating the title outranks the answer (MODEL.md)"
            ),
        ),
    ],
)
def test_the_shipped_reader_scores_the_answering_sentence_first(question, title, answering, others, monkeypatch):
    """The model committed under bot/answer/reader_model/ (no environment override) reads hand-written questions,
    each with candidate sentences of one article as the answerer gives them (title and date beside each)."""
    monkeypatch.delenv(reader.ENVIRONMENT, raising=False)
    for name in (reader.MODEL_FILE, reader.TOKENIZER_FILE, reader.CONFIG_FILE):
        assert (reader.MODEL_DIR / name).is_file(), name
    assert sum(f.stat().st_size for f in reader.MODEL_DIR.iterdir()) < 30_000_000
    passages = [reader.Passage(s, title, "2025-01-10") for s in [answering, *others]]
    scores = reader.score(question, passages)
    assert scores[0] > max(scores[1:]), scores


@pytest.mark.parametrize(
    "question", ["Who stars in What Comes After Love?", "When does What Comes After Love come out?"]
)
def test_a_seed_question_is_answered_alike_with_the_shipped_reader(question, corpus_bot, corpus_settings, monkeypatch):
    monkeypatch.delenv(reader.ENVIRONMENT, raising=False)
    bot = NewsBot(corpus_settings.model_copy(update={"reader": "trained"}), embeddings=corpus_bot.embeddings)
    features, trained = corpus_bot.ask(question), bot.ask(question)
    assert trained.short_answer == features.short_answer and trained.short_answer, (features.answer, trained.answer)
    assert trained.citations[0].article_id == features.citations[0].article_id


def _shipped_model_with(tmp_path: Path, **config) -> Path:
    """The shipped model's files beside a reader.json changed by `config`."""
    folder = tmp_path / "model"
    folder.mkdir(parents=True)
    for name in (reader.MODEL_FILE, reader.TOKENIZER_FILE):
        (folder / name).symlink_to(reader.MODEL_DIR / name)
    shipped = json.loads((reader.MODEL_DIR / reader.CONFIG_FILE).read_text())
    (folder / reader.CONFIG_FILE).write_text(json.dumps({**shipped, **config}))
    return folder


def test_the_answerer_refuses_when_no_sentence_read_reaches_the_models_threshold(
    tmp_path, corpus_bot, corpus_settings, monkeypatch
):
    """Articles on the topic, but no sentence the reader rates as answering: the answer says so and quotes
    nothing, naming the closest articles; the shipped threshold answers the same question."""
    question = "Who stars in What Comes After Love?"
    monkeypatch.setenv(reader.ENVIRONMENT, str(_shipped_model_with(tmp_path, refuse_below=1e6)))
    settings = corpus_settings.model_copy(update={"reader": "trained"})
    answer = NewsBot(settings, embeddings=corpus_bot.embeddings).ask(question)
    assert answer.abstained and not answer.citations
    assert answer.answer.startswith(
        "I could not find a sentence that answers that in the indexed news articles. The closest articles I have are: “"
    )
    assert "What Comes After Love" in answer.answer
    monkeypatch.delenv(reader.ENVIRONMENT)
    shipped = NewsBot(settings, embeddings=corpus_bot.embeddings)
    assert shipped.answerer.reader.refuse_below is None  # MODEL.md: no value kept wrong refusals under 1% and did more
    assert not shipped.ask(question).abstained


def test_a_threshold_that_is_not_a_number_is_named(tmp_path):
    folder = _shipped_model_with(tmp_path, refuse_below="high")
    message = f"reader model file {folder / reader.CONFIG_FILE}: refuse_below must be a number or null, not 'high'"
    with pytest.raises(reader.ReaderModelError) as caught:
        reader.Reader(folder)
    assert str(caught.value) == message
    assert reader.Reader(_shipped_model_with(tmp_path / "none", refuse_below=None)).refuse_below is None


def test_a_margin_scale_that_is_not_a_positive_number_is_named(tmp_path):
    folder = _shipped_model_with(tmp_path, margin_scale=0)
    with pytest.raises(reader.ReaderModelError) as caught:
        reader.Reader(folder)
    assert str(caught.value) == (
        f"reader model file {folder / reader.CONFIG_FILE}: margin_scale must be a number above 0, not 0"
    )
    assert reader.Reader(_shipped_model_with(tmp_path / "two", margin_scale=2)).margin_scale == 2.0


def test_the_margin_scale_widens_which_sentences_are_quoted_beside_the_best():
    """Another article's sentence 0.6 below the best one is quoted beside it only when the margins (0.4 for
    corroboration) are widened, as the reader's reader.json asks."""
    from langchain_core.documents import Document

    from bot.answer.evidence import SentenceCandidate

    def candidate(article: str, text: str, score: float) -> SentenceCandidate:
        document = Document(page_content=text, metadata={"article_id": article, "title": article})
        return SentenceCandidate(document, 0, len(text), text, "", score=score)

    ranked = [candidate("a", "Mira Holt directed The Glass Orchard.", 2.0), candidate("b", "Holt directed it.", 1.4)]
    assert [c.text for c in ExtractiveAnswerer._choose(ranked)] == ["Mira Holt directed The Glass Orchard."]
    widened = ExtractiveAnswerer._choose(ranked, margin_scale=2.0)
    assert [c.text for c in widened] == ["Mira Holt directed The Glass Orchard.", "Holt directed it."]
