"""The trained reader: a cross-encoder that reads the question with one candidate sentence (and the sentence's
title, date and the sentence before it) and scores how likely the sentence answers it.

It is the bundled all-MiniLM-L6-v2 fine-tuned by `scripts/train/train_reader.py` on RealTime QA's 2022, 2024 and
2025 quizzes, exported as an int8 ONNX graph (about 23 MB) with its tokenizer. The extractive answerer uses it
only when `NEWSBOT_READER=trained` (bot/answer/extractive.py); the default, `features`, never loads it.

Where the model is read from: the folder named by the environment variable NEWSBOT_READER_MODEL, else
MODEL_DIR (`bot/answer/reader_model/` inside the package). The folder holds model-int8.onnx, tokenizer.json and
reader.json (how the input was built and truncated; written by the training script). A missing or unreadable
file raises ReaderModelError naming it. The model is loaded once per process and folder.

Scores are logits (higher: likelier to hold the answer); only their differences within one question mean
anything. Each candidate runs alone, as the embedding model's texts do (bot/store/onnx_model.py): with dynamic int8
quantisation a batch would make a candidate's score depend on its neighbours.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).resolve().parent / "reader_model"
ENVIRONMENT = "NEWSBOT_READER_MODEL"
MODEL_FILE = "model-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "reader.json"
# Bump when passage_text() changes: a model trained on another input format is refused.
INPUT_FORMAT = "sentence|title (date)|previous/v1"
MAX_TOKENS = 128  # question and passage together; the end of the passage (the sentence before) is cut first

_lock = threading.Lock()


class ReaderModelError(RuntimeError):
    """The reader model's folder lacks a file, or a file cannot be read; the message names the file."""


@dataclass(frozen=True)
class Passage:
    """One candidate sentence with what the reader reads beside it."""

    sentence: str
    title: str = ""
    published: str = ""  # ISO date, "" when unknown
    previous: str = ""  # the sentence before it in the article ("The series, helmed by ..." needs it)


def passage_text(passage: Passage | str) -> str:
    """The second text of the pair: the sentence first, so that truncation cuts its context rather than it."""
    if isinstance(passage, str):
        passage = Passage(passage)
    header = passage.title.strip() or "untitled"
    header += f" ({passage.published})" if passage.published else " (date unknown)"
    text = f"{' '.join(passage.sentence.split())} | {' '.join(header.split())}"
    previous = " ".join(passage.previous.split())
    return f"{text} | {previous}" if previous else text


def model_dir() -> Path:
    """$NEWSBOT_READER_MODEL, else the folder inside the package."""
    configured = os.environ.get(ENVIRONMENT, "").strip()
    return Path(configured).expanduser() if configured else MODEL_DIR


class Reader:
    """An int8 ONNX cross-encoder and its tokenizer, from a folder written by scripts/train/train_reader.py."""

    def __init__(self, folder: Path):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        model_file, tokenizer_file, config_file = (
            self.folder / name for name in (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE)
        )
        for file in (model_file, tokenizer_file, config_file):
            if not file.is_file():
                raise ReaderModelError(
                    f"reader model file missing: {file} (train one with scripts/train/train_reader.py --out FOLDER and "
                    f"point {ENVIRONMENT} at FOLDER, or set NEWSBOT_READER=features)"
                )
        try:
            self.config = json.loads(config_file.read_text(encoding="utf-8"))
            if not isinstance(self.config, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as error:
            raise ReaderModelError(f"reader model file unreadable: {config_file} ({error})") from error
        if self.config.get("input_format") != INPUT_FORMAT:
            raise ReaderModelError(
                f"reader model file {config_file} was written for input format "
                f"{self.config.get('input_format')!r}, this code builds {INPUT_FORMAT!r}: train the reader again"
            )
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as error:  # the tokenizers library raises a bare Exception on a bad file
            raise ReaderModelError(f"reader model file unreadable: {tokenizer_file} ({error})") from error
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(self.config.get("max_tokens", MAX_TOKENS)), strategy="longest_first")
        options = ort.SessionOptions()
        # two threads: a quarter faster on 2 cores than one, with the same scores (one call runs at a time)
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's errors share no base class worth naming
            raise ReaderModelError(f"reader model file unreadable: {model_file} ({error})") from error
        self._inputs = {i.name for i in self.session.get_inputs()}
        # the best logit under which no sentence read answers the question (calibrated by the training script;
        # None: the answerer never refuses on the reader's score)
        refuse_below = self.config.get("refuse_below")
        if refuse_below is not None and (isinstance(refuse_below, bool) or not isinstance(refuse_below, int | float)):
            raise ReaderModelError(
                f"reader model file {config_file}: refuse_below must be a number or null, not {refuse_below!r}"
            )
        self.refuse_below = None if refuse_below is None else float(refuse_below)
        # the answerer's score margins (which sentences are quoted beside the best one, how fast a sentence's vote
        # fades) are set for the hand-weighted score; the reader's logits widen the scores, so they widen too
        margin_scale = self.config.get("margin_scale", 1.0)
        if isinstance(margin_scale, bool) or not isinstance(margin_scale, int | float) or margin_scale <= 0:
            raise ReaderModelError(
                f"reader model file {config_file}: margin_scale must be a number above 0, not {margin_scale!r}"
            )
        self.margin_scale = float(margin_scale)
        self._run_lock = threading.Lock()

    def encode(self, question: str, candidates: Sequence[Passage | str]) -> list:
        """The token encodings of each (question, passage) pair, truncated as in training."""
        pairs = [(question, passage_text(c)) for c in candidates]
        return self.tokenizer.encode_batch(pairs) if pairs else []

    def score(self, question: str, candidates: Sequence[Passage | str]) -> list[float]:
        """One logit per candidate, in their order."""
        scores = []
        for encoding in self.encode(question, candidates):
            feed = {
                "input_ids": np.array([encoding.ids], dtype=np.int64),
                "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
            }
            with self._run_lock:  # one session, shared by the API's threads
                logits = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            scores.append(float(np.asarray(logits).reshape(-1)[0]))
        return scores


@cache
def _load(folder: Path) -> Reader:
    return Reader(folder)


def load(folder: Path | None = None) -> Reader:
    """The reader in `folder` (default: model_dir()), loaded once per process."""
    path = Path(folder).resolve() if folder else model_dir().resolve()
    with _lock:
        return _load(path)


def score(question: str, candidates: Sequence[Passage | str], folder: Path | None = None) -> list[float]:
    """One logit per candidate (higher: likelier to answer the question), from the reader in `folder`."""
    return load(folder).score(question, candidates)
