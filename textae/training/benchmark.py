"""python -m training.benchmark: how close textae runs to this machine's limit.

Everything is measured in one run on the current machine and reported as
ratios where it can be: achieved FLOP/s (FLOPs counted from the model's shapes,
see textae/training/flops.py) against the measured float32 matmul rate, and variants
against a baseline on the same batches. `--quick` is a smaller run for CI.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time

from textae import quiet  # noqa: E402
from textae.training import program_name  # noqa: E402

quiet.start_tensorflow()  # before anything imports TensorFlow: its C++ start-up lines stay hidden

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from textae import data, recurrent  # noqa: E402
from textae.text import bundle, decoding, explorer, pipeline  # noqa: E402
from textae.text.config import ModelConfig, preset  # noqa: E402
from textae.text.model import TextAutoencoder  # noqa: E402
from textae.text.tokenizer import Tokenizer  # noqa: E402
from textae.training import distribute, flops, trainer  # noqa: E402


def matmul_peak_gflops(sizes: tuple[int, ...] = (2048, 3072, 4096), seconds: float = 1.0) -> float:
    """Best float32 matmul rate through TensorFlow: large square products, best of several.

    Several sizes because the best one differs between machines (on the 2-core
    machine of README's table, 3072 beat 2048 by about 5 %, and 2048 alone, best
    of five, varied by 10 % between runs); each is repeated for about `seconds`.
    """
    product = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    best = 0.0
    for size in sizes:
        a, b = tf.random.normal((size, size)), tf.random.normal((size, size))
        product(a, b).numpy()
        start = time.perf_counter()
        product(a, b).numpy()
        once = time.perf_counter() - start
        for _ in range(max(2, int(seconds / once))):
            start = time.perf_counter()
            product(a, b).numpy()
            best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


def _batches(ids, batch_size: int, count: int):
    """The first `count` training batches (bucketed, shuffled) as tensors."""
    return list(pipeline.make_dataset(ids, batch_size, shuffle=True, seed=0).take(count))


def _counts(batches):
    encoder = sum(int(tf.math.count_nonzero(b[0]["encoder_tokens"])) for b in batches)
    decoder = sum(int(tf.math.count_nonzero(b[1])) for b in batches)
    sentences = sum(int(b[1].shape[0]) for b in batches)
    return encoder, decoder, sentences


def _build(
    config: ModelConfig, stock_layers: bool = False, latent_once: bool = True, policy: str = "float32"
) -> TextAutoencoder:
    """The default preset's model and optimizer, as `training.train` builds them.

    `stock_layers` is the plain Keras baseline: the same model with
    `keras.layers.LSTM/GRU/SimpleRNN` and `keras.optimizers.Adam`. `latent_once` False
    projects the decoder's latent input at every step again; `policy` is the Keras dtype policy.
    """
    import keras

    saved = dict(recurrent.RECURRENT_LAYERS)
    if stock_layers:
        recurrent.RECURRENT_LAYERS.update(lstm=keras.layers.LSTM, gru=keras.layers.GRU, rnn=keras.layers.SimpleRNN)
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = TextAutoencoder(config)
        if not latent_once:
            model.decoder_layers[0].constant_input_units = 0
        model.build()
    finally:
        recurrent.RECURRENT_LAYERS.update(saved)
        keras.mixed_precision.set_global_policy("float32")
    full = preset("default")
    full.model = config
    optimizer = trainer.make_optimizer(full)
    if stock_layers:
        optimizer = keras.optimizers.Adam.from_config(optimizer.get_config())
    model.compile(optimizer=optimizer)
    model.optimizer.build(model.trainable_variables)
    return model


def time_training(config: ModelConfig, batches, repeats: int, **variant) -> float:
    """Seconds for one pass of train steps over `batches` (after a warm-up pass); `variant` goes to `_build`."""
    model = _build(config, **variant)
    step = tf.function(model.train_step, reduce_retracing=True)
    for batch in batches:  # trace every bucket shape
        step(batch)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            logs = step(batch)
        float(logs["loss"])
        best = min(best, time.perf_counter() - start)
    return best


def time_pipeline(ids, batch_size: int) -> tuple[float, int]:
    """Seconds for the tf.data pipeline alone to deliver one epoch, and its real tokens."""
    dataset = pipeline.make_dataset(ids, batch_size, shuffle=True, seed=1)
    for _ in dataset.take(2):
        pass
    start = time.perf_counter()
    tokens = 0
    for _, targets in dataset:
        tokens += int(tf.math.count_nonzero(targets))
    return time.perf_counter() - start, tokens


def _percentiles(function, repeats: int) -> tuple[float, float]:
    function()  # warm-up (tracing)
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - start))
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def _autoencoder(tokenizer, config: ModelConfig, workdir: str):
    """The shipped model when present, else a freshly initialised default-preset one."""
    from textae.text.autoencoder import TextAE

    shipped = bundle.shipped_model_dir()
    if (shipped / "model.keras").exists():
        return TextAE(bundle.load_bundle(shipped)), "shipped model"
    full = preset("default")
    full.model = config
    path = bundle.save_bundle(os.path.join(workdir, "model"), _build(config), tokenizer, full)
    return TextAE(bundle.load_bundle(path)), "untrained default-preset model (no assets/model)"


def run(quick: bool = False) -> dict:
    """Measure everything; returns the report (see README's performance section)."""
    config = preset("default")
    sentences = data.load_texts(None, split="train", limit=4000 if quick else 40000)
    shipped = bundle.shipped_model_dir() / "tokenizer.model"
    tokenizer = Tokenizer.load(shipped) if shipped.exists() else Tokenizer.train(sentences, config.tokenizer)
    config.model.vocab_size = tokenizer.vocab_size
    ids, _ = pipeline.tokenize_texts(tokenizer, sentences, max_tokens=config.data.max_tokens)
    batch_size = config.train.batch_size
    batches = _batches(ids, batch_size, 6 if quick else 40)
    encoder_tokens, decoder_tokens, sentence_count = _counts(batches)
    forward = flops.forward_flops(config.model)
    train_flops = 3 * forward.batch(encoder_tokens, decoder_tokens, sentence_count)
    repeats = 1 if quick else 3

    peak = matmul_peak_gflops((1024,), seconds=0.2) if quick else matmul_peak_gflops()
    teacher = dict(sampling_schedule="constant", sampling_k=1.0, sampling_min=0.0)
    parallel = dict(sampling_schedule="constant", sampling_k=0.75, sampling_min=0.0, sampling_mode="parallel")
    sequential = dict(parallel, sampling_mode="sequential")
    tf_config = dataclasses.replace(config.model, **teacher)
    seconds_tf = time_training(tf_config, batches, repeats)
    seconds_stock = time_training(tf_config, batches, repeats, stock_layers=True)
    seconds_latent_every_step = time_training(tf_config, batches, repeats, latent_once=False)
    seconds_bfloat16 = time_training(tf_config, batches, repeats, policy="mixed_bfloat16")
    seconds_pss = time_training(dataclasses.replace(config.model, **parallel), batches, repeats)
    seq_batches = batches[: max(2, len(batches) // 4)]
    seconds_seq = time_training(dataclasses.replace(config.model, **sequential), seq_batches, 1)
    seq_tokens = _counts(seq_batches)[1]

    pipeline_seconds, pipeline_tokens = time_pipeline(ids, batch_size)
    report = {
        "matmul_peak_gflops": peak,
        "flops_per_token_training": train_flops / decoder_tokens,
        "train_tokens_per_second_teacher_forcing": decoder_tokens / seconds_tf,
        "train_tokens_per_second_parallel_ss": decoder_tokens / seconds_pss,
        "train_tokens_per_second_latent_every_step": decoder_tokens / seconds_latent_every_step,
        "latent_once_speedup": seconds_latent_every_step / seconds_tf,
        "train_tokens_per_second_bfloat16": decoder_tokens / seconds_bfloat16,
        "bfloat16_speedup": seconds_tf / seconds_bfloat16,
        "train_tokens_per_second_sequential_ss": seq_tokens / seconds_seq,
        "train_gflops": train_flops / seconds_tf / 1e9,
        "train_utilization": train_flops / seconds_tf / 1e9 / peak,
        "baseline_keras_train_utilization": train_flops / seconds_stock / 1e9 / peak,
        "fused_speedup": seconds_stock / seconds_tf,
        "parallel_ss_overhead": seconds_pss / seconds_tf,
        "sequential_ss_overhead": (seconds_seq / seq_tokens) / (seconds_tf / decoder_tokens),
        "pipeline_ratio": (pipeline_tokens / pipeline_seconds) / (decoder_tokens / seconds_tf),
        "padding_fraction": pipeline.padding_fraction(pipeline.make_dataset(ids, batch_size), max_batches=200),
    }
    with tempfile.TemporaryDirectory() as workdir:
        autoencoder, which = _autoencoder(tokenizer, config.model, workdir)
        report.update(_decoding_report(autoencoder, sentences, peak, quick))
    report["model_measured"] = which
    report["tensorflow"] = tf.__version__
    report["cpu_count"] = os.cpu_count()
    report["cpu_bfloat16_units"] = (
        " ".join(sorted(set(distribute.BFLOAT16_CPU_FLAGS) & distribute.cpu_flags())) or "none"
    )
    return report


def _decoding_report(autoencoder, sentences: list[str], peak: float, quick: bool) -> dict:
    model = autoencoder.model
    batch = [s for s in sentences[-2000:] if len(s) < 120][: 64 if quick else 256]
    latents = autoencoder.encode(batch)
    step_flops = flops.decode_step_flops(model.model_config)
    max_length = autoencoder.max_input_tokens + 8
    greedy = decoding.DecodingSettings(max_length=max_length)
    beam = decoding.DecodingSettings(method="beam", beam_width=4, max_length=max_length)
    results = {}
    for name, settings in (("greedy", greedy), ("beam", beam)):
        decoding.decode(model, latents, settings)  # trace
        seconds = float("inf")
        for _ in range(1 if quick else 3):  # best of three, as for training
            start = time.perf_counter()
            result = decoding.decode(model, latents, settings)
            seconds = min(seconds, time.perf_counter() - start)
        results[name] = (seconds, int(result.lengths.sum() + result.finished.sum()))
    greedy_seconds, greedy_tokens = results["greedy"]
    sentence, other = batch[0], batch[1]
    repeats = 10 if quick else 50
    p50, p95 = _percentiles(lambda: autoencoder.reconstruct([sentence]), repeats)
    interpolate_p50, _ = _percentiles(lambda: autoencoder.interpolate(sentence, other, steps=10), repeats // 2)
    explore_seconds = _explore_map_seconds(autoencoder)
    return {
        **_saved_model_report(autoencoder, sentence, repeats),
        **_bulk_encode_report(autoencoder, sentences, 10_000 if quick else 100_000),
        "explore_map_seconds": explore_seconds,
        "decode_utilization": greedy_tokens * step_flops / greedy_seconds / 1e9 / peak,
        "greedy_sentences_per_second": len(batch) / greedy_seconds,
        "beam4_sentences_per_second": len(batch) / results["beam"][0],
        "reconstruct_p50_ms": p50,
        "reconstruct_p95_ms": p95,
        "interpolate_10_p50_ms": interpolate_p50,
    }


def _saved_model_report(autoencoder, sentence: str, repeats: int) -> dict:
    """Latency of one call through the exported SavedModel (`python -m textae export`), loaded back."""
    from textae.text import export

    text = export.text_signatures_available()
    with tempfile.TemporaryDirectory() as folder:
        path = export.export(autoencoder, os.path.join(folder, "saved"), text_signatures=text)
        if text:
            import tensorflow_text  # noqa: F401  (registers the SentencePiece op)
        loaded = tf.saved_model.load(str(path))
        ids = tf.constant(autoencoder.tokenizer.encode([sentence]), tf.int32)
        latent = loaded.encode(ids)["latent"]
        report = {
            "saved_model_encode_p50_ms": _percentiles(lambda: loaded.encode(ids), repeats)[0],
            # encode then decode: a reconstruction through the stock-op signatures, as a TF Serving client does it
            "saved_model_encode_decode_p50_ms": _percentiles(
                lambda: loaded.decode(loaded.encode(ids)["latent"]), repeats
            )[0],  # fmt: skip
            "saved_model_decode_p50_ms": _percentiles(lambda: loaded.decode(latent), repeats)[0],
        }
        if text:
            strings = tf.constant([sentence])
            report["saved_model_reconstruct_text_p50_ms"] = _percentiles(
                lambda: loaded.reconstruct_text(strings), repeats
            )[0]
        return report


def _bulk_encode_report(autoencoder, sentences: list[str], count: int) -> dict:
    """`python -m textae encode` on `count` lines in a child process: sentences per second and its peak memory."""
    import resource
    import subprocess

    with tempfile.TemporaryDirectory() as folder:
        lines = os.path.join(folder, "lines.txt")
        with open(lines, "w", encoding="utf-8") as handle:
            handle.writelines(f"{sentences[index % len(sentences)]}\n" for index in range(count))
        command = [sys.executable, "-m", "textae", "encode", "--model", str(autoencoder.path), "--input", lines,
                   "--output", os.path.join(folder, "vectors.npy")]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)  # exit 2 when some lines are too long: fine
        seconds = time.perf_counter() - start
    return {
        "encode_sentences_per_second": count / seconds,  # start-up (loading TensorFlow and the model) included
        "encode_sentences": count,
        "encode_peak_memory_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _explore_map_seconds(autoencoder, count: int = 2000) -> float:
    """What the app's Explore tab does on first use: encode corpus sentences and fit a 2-D PCA."""
    from sklearn.decomposition import PCA

    texts = explorer.explorer_sentences(autoencoder, count)
    start = time.perf_counter()
    vectors = autoencoder.encode(texts)
    PCA(n_components=2, random_state=0).fit_transform(vectors)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("benchmark"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run (CI smoke test)")
    args = parser.parse_args(argv)
    report = run(quick=args.quick)
    if args.json:
        print(json.dumps(report))
    else:
        width = max(len(key) for key in report)
        for key, value in report.items():
            print(f"{key:<{width}}  {value:,.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
