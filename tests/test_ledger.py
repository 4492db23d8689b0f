"""The campaign ledger: finished runs collected across sessions, rendered into the results doc."""

from __future__ import annotations

import shutil
import socket

import pandas as pd
import pytest
import torch

from deepclust import config, io, ledger, paths
from deepclust.cli import main

pytestmark = pytest.mark.slow


def test_collect_keeps_one_row_per_run_and_the_section_is_replaced_in_place(tiny_run, tmp_path):
    cfg = config.load(tiny_run / "config.yaml")
    book = tmp_path / "campaign.csv"
    runs = ledger.collect(cfg, tiny_run, book)
    assert list(runs["algorithm"]) == ["aekm", "dec"]  # digits, seed 0: the tiny config's runs
    metrics = pd.read_json(tiny_run / paths.RunKey("digits", "dense", "dec", 0).fmt(
        paths.RUN_METRICS), typ="series")  # fmt: skip
    dec = runs[runs["algorithm"] == "dec"].iloc[0]
    assert dec["acc"] == pytest.approx(metrics["acc"])
    assert dec["pretrain_runtime_s"] > 0 and len(dec["settings_sha256"]) == 16
    # A second collection (a rerun, another session) replaces rows instead of adding them; a
    # row for another run that is not in this workdir stays.
    other = runs.iloc[[0]].assign(dataset="usps")
    pd.concat([runs, other]).to_csv(book, index=False)
    assert len(ledger.collect(cfg, tiny_run, book)) == 3

    doc = tmp_path / "results.md"
    doc.write_text("# Measured results\n\nIntro.\n\n## `results`\n\nOld table.\n")
    for _ in range(2):  # writing twice leaves one section, before the first other section
        assert main(["collect", "--config", str(tiny_run / "config.yaml"), "--workdir",
                     str(tiny_run), "--ledger", str(book), "--doc", str(doc)]) == 0  # fmt: skip
    text = doc.read_text()
    assert text.count("## campaign") == 1 and text.count("## `results`") == 1
    assert text.index("## campaign") < text.index("## `results`")  # titled by its file name
    assert "| digits | dense | dec |" in text and "| usps | dense | aekm |" in text
    assert "3 runs on" in text and "Pretraining time per seed" in text
    # its figure, drawn beside the ledger, linked relative to the document
    assert (tmp_path / "campaign.png").read_bytes()[:4] == b"\x89PNG"
    assert text.count("](campaign.png)") == 1
    # A second ledger's new section goes after the first one's, before the other sections.
    runs.to_csv(tmp_path / "survey.csv", index=False)
    ledger.write_section(tmp_path / "survey.csv", doc)
    text = doc.read_text()
    assert text.index("## campaign") < text.index("## The survey's other methods")
    assert text.index("## The survey's other methods") < text.index("## `results`")
    assert "-->\n\n<!-- ledger survey.csv" in text  # one blank line between the sections
    # A full regeneration of the document (scripts/results.sh) puts the ledger's table first.
    from deepclust.report import results_document

    results_document([tiny_run], None, doc, (book,))
    text = doc.read_text()
    assert text.startswith("# Measured results") and text.count("<!-- end of ledger") == 1
    assert "](campaign.png)" in text
    assert text.index("## campaign") < text.index(f"## `{tiny_run.name}`")


def test_a_run_keeps_the_torch_device_and_host_it_ran_with(tiny_run, tmp_path):
    """A run made on a GPU node and collected on a laptop: its row says the node's."""
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, ignore=shutil.ignore_patterns(".snakemake"))
    metrics_file = workdir / paths.RunKey("digits", "dense", "dec", 0).fmt(paths.RUN_METRICS)
    metrics = io.read_json(metrics_file)
    metrics.update(torch="2.11.0+cu130", device_name="NVIDIA H200", host="gpu-node-7")
    io.write_json(metrics_file, metrics)
    runs = ledger.collect(config.load(workdir / "config.yaml"), workdir, tmp_path / "l.csv")
    dec, aekm = (runs[runs["algorithm"] == a].iloc[0] for a in ("dec", "aekm"))
    assert (dec["torch"], dec["device"], dec["host"]) == ("2.11.0+cu130", "NVIDIA H200",
                                                          "gpu-node-7")  # fmt: skip
    assert aekm["host"] == socket.gethostname() and aekm["torch"] == torch.__version__


def test_a_degenerate_run_counts_in_the_mean_and_is_marked(tiny_run, tmp_path):
    """A campaign reports every seed: a run kept under ``on_degenerate: warn`` is in the
    ledger and its table's mean, marked as degenerate."""
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, ignore=shutil.ignore_patterns(".snakemake"))
    metrics_file = workdir / paths.RunKey("digits", "dense", "dec", 0).fmt(paths.RUN_METRICS)
    metrics = io.read_json(metrics_file)
    metrics.update(degenerate="only 8 of 10 clusters are non-empty", n_clusters_found=8)
    io.write_json(metrics_file, metrics)
    book = tmp_path / "campaign.csv"
    runs = ledger.collect(config.load(workdir / "config.yaml"), workdir, book)
    dec = runs[runs["algorithm"] == "dec"].iloc[0]
    assert (dec["n_clusters"], dec["n_clusters_found"]) == (10, 8)
    assert dec["degenerate"] == "only 8 of 10 clusters are non-empty"
    text = ledger.section(book, tmp_path / "results.md")
    assert f"| digits | dense | dec ⚠ 1 degenerate | {100 * dec['acc']:.1f} |" in text
    assert "| digits | dense | aekm |" in text  # the other run is not marked
