"""Fit the default answerer's SENTENCE_WEIGHTS on the tuning half of RealTime QA, and check them on the held-out half.

  python scripts/train/fit_sentence_weights.py --index /tmp/rtqa            # about 20 min on 2 cores
  python scripts/train/fit_sentence_weights.py --index /tmp/rtqa --write    # and record the result

The extractive answerer scores each sentence of the retrieved chunks as a weighted sum of evidence that it
holds the answer (bot/answer/extractive.py, SENTENCE_WEIGHTS). This script:

  1. retrieves, for every question, the chunks the answerer would get (the product's settings, the question's
     as_of date), over a full index of the corpus built with `newsbot ingest`;
  2. scores every candidate sentence on every piece of evidence (the model and the entity tagger included, not
     only for the sentences that survive the cheap evidence as when answering), and labels it by whether a gold
     answer occurs in it (normalised as score.py does);
  3. fits the weights on the first half of the questions (by date) with a listwise logistic regression: per
     question, a softmax over its sentences, maximising the probability of those that hold an answer, with
     L2 regularisation (questions with no answer-bearing sentence, or only such sentences, teach nothing and
     are left out);
  4. scales them so that "meaning" weighs 0.55, the unit the answerer's score margins are measured in;
  5. reports, per half, the share of questions whose best-scored sentence holds a gold answer, with the weights
     in the code now and with the fitted ones. Paste the fitted dictionary into extractive.py only when the
     held-out half improves.

The questions and articles are read from ../shared at run time; nothing of them is stored in the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bot.eval.report import command_line, markers, write_section  # noqa: E402

TUNING, HELD_OUT = "first half (tuning)", "second half (held out)"
MEANING_WEIGHT = 0.55
# The hand-set weights the fitted ones replaced (2026-11-21), as a baseline in every run; their small bonuses for
# an exact title and penalty for all-caps text are no longer evidence, so they are left out.
HAND_SET = {"meaning": 0.55, "words": 0.35, "retrieval": 0.10, "kind": 1.0, "recency": 0.05, "typed": 0.15}


def fit(questions: list[tuple[np.ndarray, np.ndarray]], l2: float, steps: int = 1500) -> np.ndarray:
    """Listwise logistic regression by Adam: -log(sum of softmax over the answer-bearing sentences)."""
    usable = [(x, y) for x, y in questions if y.any() and not y.all()]
    width = usable[0][0].shape[1]
    weights, first, second = np.zeros(width), np.zeros(width), np.zeros(width)
    for step in range(1, steps + 1):
        gradient = np.zeros(width)
        for x, y in usable:
            scores = x @ weights
            p = np.exp(scores - scores.max())
            p /= p.sum()
            holds = y > 0
            gradient += p @ x - (p[holds] @ x[holds]) / p[holds].sum()
        gradient = gradient / len(usable) + l2 * weights
        first = 0.9 * first + 0.1 * gradient
        second = 0.999 * second + 0.001 * gradient**2
        weights -= 0.05 * (first / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
    return weights


def best_holds_answer(questions: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray) -> float:
    return sum(float(y[np.argmax(x @ weights)]) for x, y in questions) / max(len(questions), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="a full RealTime QA index built by `newsbot ingest`")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 regularisation of the weights (default 1e-3)")
    parser.add_argument("--limit", type=int, help="only the first N questions of each half (a quick check)")
    parser.add_argument("--write", action="store_true", help="write the result to docs/benchmarks.md")
    args = parser.parse_args()

    from bot.answer.evidence import SENTENCE_WEIGHTS
    from bot.chain import NewsBot
    from bot.eval.datasets import load_realtimeqa
    from bot.eval.metrics import answer_in_chunks, shared_scorer
    from bot.search.terms import question_terms
    from bot.settings import Settings

    names = list(SENTENCE_WEIGHTS)
    norm = shared_scorer(args.shared).norm
    bot = NewsBot(Settings(index=args.index))
    answerer = bot.answerer if hasattr(bot.answerer, "rank_sentences") else None
    if answerer is None:
        raise SystemExit("the configured answerer is not the extractive one: unset NEWSBOT_LLM")
    halves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {TUNING: [], HELD_OUT: []}
    asked = {TUNING: 0, HELD_OUT: 0}
    for query in load_realtimeqa(args.shared).queries:
        half = TUNING if TUNING in query.groups else HELD_OUT
        if args.limit and asked[half] >= args.limit:
            continue
        asked[half] += 1
        documents, _ = bot.retriever.search(query.question, query.as_of)
        refused = answerer._refusal_reason(query.question, documents, question_terms(query.question)[1])
        ranked = [] if refused else answerer.rank_sentences(query.question, documents, everything=True)[0]
        if not ranked:  # refused, or nothing to quote: no sentence is right
            halves[half].append((np.zeros((1, len(names))), np.zeros(1)))
            continue
        x = np.array([[c.features.get(name, 0.0) for name in names] for c in ranked])
        y = np.array([float(answer_in_chunks(query.golds, [c.text], norm)) for c in ranked])
        halves[half].append((x, y))

    fitted = fit(halves[TUNING], args.l2)
    meaning = fitted[names.index("meaning")]
    if meaning > 0:
        fitted *= MEANING_WEIGHT / meaning
    else:  # only with very few questions (--limit)
        print(f"meaning got a weight of {meaning:.3f}: too few questions to fit; the weights are left unscaled")
    current = np.array([SENTENCE_WEIGHTS[name] for name in names])
    start, end = markers("fit_sentence_weights")
    lines = [
        start,
        "## Sentence weights of the default answerer (`scripts/train/fit_sentence_weights.py`)",
        "",
        f"- Command: `{command_line()}`",
        f"- Fitted on the {TUNING} of RealTime QA (listwise logistic regression, L2 {args.l2:g}), scaled so "
        f"that meaning weighs {MEANING_WEIGHT}. Every candidate sentence of the retrieved chunks is scored on "
        "every piece of evidence; a refused question counts as a miss.",
        "- Figure: the share of questions whose best-scored sentence holds a gold answer.",
        "",
        "| weights | " + " | ".join(f"{half} (n={len(halves[half])})" for half in halves) + " |",
        "| --- | --: | --: |",
    ]
    hand_set = np.array([HAND_SET.get(name, 0.0) for name in names])
    for label, weights in (("hand-set before", hand_set), ("in the code", current), ("fitted now", fitted)):
        figures = " | ".join(f"{best_holds_answer(questions, weights):.3f}" for questions in halves.values())
        lines.append(f"| {label} | {figures} |")
    lines += ["", "| evidence | hand-set before | in the code | fitted now |", "| --- | --: | --: | --: |"]
    lines += [
        f"| {name} | {h:+.3f} | {c:+.3f} | {f:+.3f} |"
        for name, h, c, f in zip(names, hand_set, current, fitted, strict=True)
    ]
    lines += [end, ""]
    print("\n".join(lines))
    print("SENTENCE_WEIGHTS = {" + ", ".join(f'"{n}": {w:.3f}' for n, w in zip(names, fitted, strict=True)) + "}")
    if args.write:
        write_section("\n".join(lines), "fit_sentence_weights")


if __name__ == "__main__":
    main()
