"""Ways to run the embedding model on this CPU, side by side: is there a faster one than the default int8 graph?

  python scripts/bench/encoder_recipes.py            # about 5 min on 2 cores
  python scripts/bench/encoder_recipes.py --write    # and record the table in docs/benchmarks.md

Each recipe embeds the same chunk-sized texts of the RealTime QA corpus, one text per run on one thread (as
the onnx-int8 backend runs each of its per-core sessions), three times; the table gives the median texts/s
and how close the vectors stay to the float32 graph's (mean and lowest cosine). Recipes:

  - fp32: the exported float graph (the reference for the cosines);
  - dynamic int8 (default): the backend's graph (bot/store/onnx_model.py), weights int8 per channel;
  - fused + dynamic int8: the graph exported with eager attention, fused by onnxruntime's transformer optimizer
    (Attention, EmbedLayerNormalization, SkipLayerNormalization, BiasGelu), then quantised the same way;
  - static int8: weights and activations int8, activation scales calibrated on other corpus chunks (MinMax);
  - OpenVINO float32 and bfloat16 (this CPU has avx512_bf16) on the fp32 graph, only when the `openvino`
    package is installed (it is not a dependency: `pip install openvino` to include it).

The texts are read from ../shared at run time; the graphs are written to a temporary folder.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import SHARED, ratio, section_head, show, timed

WORDS_PER_TEXT = 150  # about 190 model tokens: the size of a chunk


def corpus_texts(corpus: Path, skip: int, count: int) -> list[str]:
    texts: list[str] = []
    with corpus.open(encoding="utf-8") as lines:
        for line in itertools.islice(lines, skip, None):
            words = json.loads(line)["text"].split()
            texts += [" ".join(words[i : i + WORDS_PER_TEXT]) for i in range(0, len(words), WORDS_PER_TEXT)]
            if len(texts) >= count:
                return texts[:count]
    return texts


def build_graphs(model_path: Path, work: Path, calibration: list[dict]) -> dict[str, Path]:
    import transformers
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from onnxruntime.transformers.optimizer import optimize_model

    from bot.store import onnx_model

    graphs = {"dynamic int8 (default)": onnx_model.quantized_model(model_path)}
    full = work / "model.onnx"
    onnx_model._export(model_path, full)
    graphs["fp32"] = full

    eager = work / "model-eager.onnx"  # the transformer optimizer only recognises eager attention
    original = transformers.AutoModel.from_pretrained
    transformers.AutoModel.from_pretrained = lambda *a, **k: original(*a, attn_implementation="eager", **k)
    try:
        onnx_model._export(model_path, eager)
    finally:
        transformers.AutoModel.from_pretrained = original
    optimised = optimize_model(str(eager), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
    fused_ops = {op: n for op, n in optimised.get_fused_operator_statistics().items() if n}
    print("fused:", fused_ops, flush=True)
    fused = work / "model-fused.onnx"
    optimised.save_model_to_file(str(fused))
    graphs["fused + dynamic int8"] = work / "model-fused-int8.onnx"
    onnx_model._quantise(fused, graphs["fused + dynamic int8"])

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter(calibration)

        def get_next(self) -> dict | None:
            return next(self.feeds, None)

    prepared = work / "model-prepared.onnx"
    quant_pre_process(str(full), str(prepared), skip_symbolic_shape=True)
    graphs["static int8"] = work / "model-static-int8.onnx"
    quantize_static(
        str(prepared),
        str(graphs["static int8"]),
        Feeds(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        calibrate_method=CalibrationMethod.MinMax,
    )
    return graphs


def runners(graphs: dict[str, Path]) -> dict[str, Callable[[dict], np.ndarray]]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    result: dict[str, Callable[[dict], np.ndarray]] = {}
    for name, graph in graphs.items():
        session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        result[name] = lambda feed, session=session: session.run(None, feed)[0]
    try:
        import openvino
    except ImportError:
        print("openvino not installed: its rows are left out", flush=True)
        return result
    core = openvino.Core()
    model = core.read_model(str(graphs["fp32"]))
    for precision in ("f32", "bf16"):
        config = {"INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": precision}
        request = core.compile_model(model, "CPU", config).create_infer_request()
        result[f"OpenVINO {openvino.__version__.split('-')[0]} {precision}"] = lambda feed, request=request: next(
            iter(request.infer(feed).values())
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--texts", type=int, default=300, help="texts embedded per recipe and repeat (default 300)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the table to docs/benchmarks.md")
    args = parser.parse_args()

    from bot.settings import load_settings
    from bot.store.embedding import LocalEmbeddings
    from bot.store.onnx_model import OnnxEncoder

    corpus = args.shared / "datasets/realtimeqa-2023/corpus.jsonl"
    model_path = LocalEmbeddings.from_settings(load_settings()).model_path
    tokenizer = OnnxEncoder(model_path, workers=1).tokenizer

    def feed(encoding) -> dict:
        return {
            name: np.array([values], dtype=np.int64)
            for name, values in (
                ("input_ids", encoding.ids),
                ("attention_mask", encoding.attention_mask),
                ("token_type_ids", encoding.type_ids),
            )
        }

    measured = [feed(e) for e in tokenizer.encode_batch(corpus_texts(corpus, 0, args.texts))]
    calibration = [feed(e) for e in tokenizer.encode_batch(corpus_texts(corpus, 100, 200))]
    with tempfile.TemporaryDirectory() as work:
        run = runners(build_graphs(model_path, Path(work), calibration))
        rates: dict[str, list[float]] = {name: [] for name in run}
        vectors: dict[str, np.ndarray] = {}
        for _ in range(args.repeats):
            for name, embed in run.items():
                pooled, took = timed(lambda embed=embed: np.array([embed(f)[0].mean(axis=0) for f in measured]))
                rates[name].append(len(measured) / took)
                vectors[name] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    default = statistics.median(rates["dynamic int8 (default)"])
    rows = []
    for name in run:
        cosines = np.sum(vectors[name] * vectors["fp32"], axis=1)
        median = statistics.median(rates[name])
        rows.append(
            f"| {name} | {median:.1f} | {ratio(median, default):.2f} | {cosines.mean():.4f} | {cosines.min():.4f} |"
        )
    tokens = statistics.median(int(f["input_ids"].shape[1]) for f in measured)
    lines, end = section_head("bench_encoder_recipes", "Ways to run the embedding model", __file__)
    section = "\n".join(
        [
            *lines,
            f"- {len(measured)} chunk-sized texts of the corpus (median {tokens:.0f} tokens), one text per run on "
            f"one thread, {args.repeats} repeats, medians; cosines against the fp32 graph's vectors. Run "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
            "",
            "| recipe | texts/s | against the default | mean cosine to fp32 | lowest cosine |",
            "| --- | --: | --: | --: | --: |",
            *rows,
            end,
            "",
        ]
    )
    show(section, "bench_encoder_recipes", args.write)


if __name__ == "__main__":
    main()
