"""The benchmark's quick run reports every number README's performance table uses."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEYS = (
    "matmul_peak_gflops",
    "flops_per_token_training",
    "train_tokens_per_second_teacher_forcing",
    "train_tokens_per_second_parallel_ss",
    "train_tokens_per_second_sequential_ss",
    "train_utilization",
    "baseline_keras_train_utilization",
    "parallel_ss_overhead",
    "train_tokens_per_second_latent_every_step",
    "latent_once_speedup",
    "train_tokens_per_second_bfloat16",
    "bfloat16_speedup",
    "decode_utilization",
    "greedy_sentences_per_second",
    "beam4_sentences_per_second",
    "reconstruct_p50_ms",
    "reconstruct_p95_ms",
    "interpolate_10_p50_ms",
    "pipeline_ratio",
    "padding_fraction",
    "explore_map_seconds",
    "saved_model_encode_p50_ms",
    "encode_sentences_per_second",
    "encode_peak_memory_mb",
    "saved_model_reconstruct_text_p50_ms",  # tensorflow-text is in requirements-dev.txt
)


@pytest.mark.slow
def test_quick_benchmark_reports_every_key_as_a_finite_positive_number():
    completed = subprocess.run(
        [sys.executable, "-m", "training.benchmark", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    for key in KEYS:
        assert key in report, f"missing {key}"
        assert math.isfinite(report[key]) and report[key] > 0, f"{key} = {report[key]}"
    assert report["padding_fraction"] < 1
