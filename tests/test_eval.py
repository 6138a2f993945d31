"""The benchmark harness: metric code against hand-computed values, and a tiny real run."""

import pytest

from bot.cli import main
from bot.eval.metrics import all_evidence, multihop_metrics, percentile, recall_at, shared_scorer
from tests.conftest import SHARED


def test_multihop_metrics_by_hand():
    gold = ["Alpha beta.", "Gamma delta."]
    retrieved = ["noise", "x Alpha  beta. y", "more noise", "Gamma\ndelta. and Alpha beta."]
    metrics = multihop_metrics(retrieved, gold)
    # First hit at rank 2 (one new gold: 1/2); rank 4 adds the second gold (1/4): AP = (1/2 + 1/4) / 2.
    assert metrics == {
        "Hits@4": 1.0,
        "Hits@10": 1.0,
        "MAP@10": pytest.approx(0.375),
        "MRR@10": 0.5,
        "all-evidence@4": 1.0,
        "all-evidence@10": 1.0,
    }
    assert all_evidence(retrieved, gold, 3) == 0.0
    late = multihop_metrics(["a", "b", "c", "d", "Alpha beta."], gold)
    assert late["Hits@4"] == 0.0 and late["Hits@10"] == 1.0 and late["MRR@10"] == 0.2
    assert late["all-evidence@10"] == 0.0
    assert multihop_metrics(["x"] * 10 + ["Alpha beta."], gold)["Hits@10"] == 0.0  # rank 11 is past the cut


def test_answer_recall_uses_the_shared_normalisation():
    norm = shared_scorer(SHARED).norm
    chunks = ["The Buffalo Bills won.", "Nothing here."]
    assert recall_at(["buffalo bills"], chunks, norm, [1, 2]) == {"recall@1": 1.0, "recall@2": 1.0}
    assert recall_at(["Bills"], ["The Billsborough story"], norm, [1]) == {"recall@1": 0.0}  # whole words
    assert recall_at(["the Eras Tour"], ["No.", "Her Eras Tour ended."], norm, [1, 2]) == {
        "recall@1": 0.0,
        "recall@2": 1.0,
    }


def test_percentile():
    assert percentile([1, 2, 3, 4, 5], 0.5) == 3 and percentile([1, 2], 0.95) == pytest.approx(1.95)


def test_eval_retrieval_runs_on_a_slice(tmp_path, capsys, embeddings):
    argv = ["eval", "retrieval", "--dataset", "multihop", "--limit", "5", "--configs", "dense,hybrid+meta"]
    assert main([*argv, "--index", str(tmp_path / "index"), "--shared", str(SHARED)]) == 0
    out = capsys.readouterr().out
    # Each embedding backend has its own section: a run with one never overwrites the other's figures.
    assert "<!-- eval_retrieval_multihop_onnx-int8:start -->" in out
    assert "## Retrieval on multihop, embedding backend onnx-int8 (`newsbot eval retrieval`)" in out
    assert "- 5 non-null queries" in out
    assert "| dense | " in out and "| hybrid+meta | " in out and "| hybrid | " not in out


def test_eval_rejects_an_unknown_configuration(capsys, tmp_path):
    argv = ["eval", "retrieval", "--dataset", "multihop", "--configs", "magic", "--shared", str(SHARED)]
    assert main([*argv, "--index", str(tmp_path)]) == 2
    assert "unknown configuration(s) magic: choose from dense, bm25, hybrid" in capsys.readouterr().err


def test_the_gpt3_baseline_is_read_per_question_and_only_where_it_exists():
    from bot.eval.datasets import load_multihop, load_realtimeqa
    from bot.eval.run import gpt3_baseline

    realtimeqa = load_realtimeqa(SHARED)
    baseline = gpt3_baseline(realtimeqa)
    asked = {query.id for query in realtimeqa.queries}
    assert baseline and set(baseline) <= asked and all(isinstance(text, str) for text in baseline.values())
    assert gpt3_baseline(load_multihop(SHARED)) == {}  # MultiHop-RAG ships no baseline
