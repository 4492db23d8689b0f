"""How fast is deepclust's training loop? Side-by-side measurements in one run.

    .venv/bin/python benchmarks/bench_training.py                 # CPU or GPU, ~5 min on 2 cores
    .venv/bin/python benchmarks/bench_training.py --pipeline      # + the whole pipeline, twice
    .venv/bin/python benchmarks/bench_training.py --threads-vs REF  # only the thread budget

Prints, for the autoencoder d-500-500-2000-10 at batch 256 on synthetic data of MNIST-70k's
shape (70,000 × 784, values in [0, 1]):

- ``bound``: the fp32 matrix products of one training step (forward, input and weight
  gradients of every layer), run with plain ``torch.mm``: the time no loop can beat;
- ``pretrain``: samples/s of the project's pretraining loop (``deepclust.training.train``) and
  of a plain ``torch.utils.data.DataLoader`` loop running the *same* objective (per-sample
  indexing and collation, the optimizer without ``fused``, a ``loss.item()`` per step); also
  the project's loop with unfused optimizer kernels and with ``precision: bf16``;
- ``dec``, ``idec``, ``dcn``, ``dekm``: the same two loops for one refinement epoch of each;
- peak memory of each measurement (each runs in its own process: peak RSS on the CPU,
  ``torch.cuda.max_memory_allocated`` on a GPU), beside the dataset's own size;
- with ``--pipeline``: wall time of the default pipeline (``config.yaml``) against the same
  pipeline with pretraining forced to rerun for every algorithm (one fresh folder per
  algorithm, as if each method trained its own autoencoder).
- with ``--threads-vs REF``: only the wall time of the default pipeline (``--cores 2``) with
  the code at git revision REF (before every rule declared ``threads:``), with this tree's
  thread budget (``threads`` in the config, default 1 per job) and with 2 threads for the
  training stages, one after the other, with each rule's summed job time.

Every measurement is repeated ``--repeats`` times, alternating loops, and the best is kept.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIMS = [784, 500, 500, 2000, 10]
REFINEMENTS = ("dec", "idec", "dcn", "dekm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=70000, help="samples (MNIST-70k: 70,000)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=0, help="steps per measurement; 0 = 1 epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--pipeline", action="store_true", help="also time the whole pipeline")
    parser.add_argument("--threads-vs", metavar="REF", help="only time the thread budget")
    parser.add_argument("--part", help=argparse.SUPPRESS)  # internal: one measurement
    args = parser.parse_args()
    if args.part:
        print(json.dumps(measure(args)))
        return
    if args.threads_vs:
        thread_budget_times(args.threads_vs)
        return
    run_all(args)


# --- the parent: run every part in its own process, print the table ---------------------------


def run_all(args) -> None:
    import torch

    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}  torch {torch.__version__}  device {device}")
    print(f"# {machine(device)}")
    print(f"# data {args.n} x {DIMS[0]} fp32 ({args.n * DIMS[0] * 4 / 2**20:.0f} MiB), "
          f"AE {'-'.join(map(str, DIMS))}, batch {args.batch_size}")  # fmt: skip
    parts = ["bound", "pretrain:unfused", "pretrain:bf16"] + [
        f"{what}:{loop}" for what in ("pretrain", *REFINEMENTS) for loop in ("project", "plain")
    ]
    best: dict[str, dict] = {}
    for repeat in range(args.repeats):
        for part in parts:
            result = run_part(args, part, device)
            if part not in best or result["samples_per_s"] > best[part]["samples_per_s"]:
                best[part] = result
        print(f"# repeat {repeat + 1}/{args.repeats} done", file=sys.stderr)
    bound = best["bound"]["samples_per_s"]
    print(f"\n{'measurement':<22}{'samples/s':>12}{'project/plain':>15}{'of bound':>10}"
          f"{'peak MiB':>10}")  # fmt: skip
    print(f"{'bound (torch.mm)':<22}{bound:>12.0f}{'':>15}{'100 %':>10}{'':>10}")
    for variant in ("unfused", "bf16"):
        result = best[f"pretrain:{variant}"]
        share = 100 * result["samples_per_s"] / bound
        print(f"{'pretrain ' + variant:<22}{result['samples_per_s']:>12.0f}{'':>15}"
              f"{share:>8.0f} %{result['peak_mib']:>10.0f}")  # fmt: skip
    for what in ("pretrain", *REFINEMENTS):
        project, plain = best[f"{what}:project"], best[f"{what}:plain"]
        ratio = project["samples_per_s"] / plain["samples_per_s"]
        share = f"{100 * project['samples_per_s'] / bound:.0f} %" if what == "pretrain" else ""
        print(f"{what + ' project':<22}{project['samples_per_s']:>12.0f}{ratio:>14.2f}x"
              f"{share:>10}{project['peak_mib']:>10.0f}")  # fmt: skip
        print(f"{what + ' plain':<22}{plain['samples_per_s']:>12.0f}{'':>15}{'':>10}"
              f"{plain['peak_mib']:>10.0f}")  # fmt: skip
    if args.pipeline:
        pipeline_times()


def run_part(args, part: str, device: str) -> dict:
    command = [sys.executable, __file__, "--part", part, "--n", str(args.n),
               "--batch-size", str(args.batch_size), "--steps", str(args.steps),
               "--device", device]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(device)
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "unknown CPU",
    )  # fmt: skip
    return f"{model}, {os.cpu_count()} cores"


# --- the child: one measurement -----------------------------------------------------------------


def measure(args) -> dict:
    import torch

    torch.manual_seed(0)
    device = torch.device(args.device)
    X = torch.rand(args.n, DIMS[0], generator=torch.Generator().manual_seed(0)).to(device)
    steps = args.steps or math.ceil(args.n / args.batch_size)
    # The first optimizer of a process imports torch._dynamo (about 1 s): a start-up cost of
    # every stage, not of the loop, so it is paid before the clock starts.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)], fused=True)
    if args.part == "bound":
        seconds = mm_bound(args.batch_size, device, steps)
    else:
        what, loop = args.part.split(":")
        seconds = time_loop(what, loop, X, args.batch_size, steps)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux
    return {"samples_per_s": steps * args.batch_size / seconds, "peak_mib": peak}


def mm_bound(batch_size: int, device, steps: int) -> float:
    """Seconds for ``steps`` training steps' worth of plain fp32 ``torch.mm``: for each layer
    a → b of the encoder and the decoder, the forward product, the input gradient (not for
    the first layer: the data needs none) and the weight gradient."""
    import torch

    sizes = [*itertools.pairwise(DIMS), *itertools.pairwise(DIMS[::-1])]
    tensors = [
        (torch.rand(batch_size, a, device=device), torch.rand(batch_size, b, device=device),
         torch.rand(b, a, device=device), i == 0)
        for i, (a, b) in enumerate(sizes)
    ]  # fmt: skip

    def step() -> None:
        for x, grad, weight, first in tensors:
            torch.mm(x, weight.t())
            if not first:
                torch.mm(grad, weight)
            torch.mm(grad.t(), x)

    for _ in range(3):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return time.perf_counter() - start


def time_loop(what: str, loop: str, X, batch_size: int, steps: int) -> float:
    """Seconds for ``steps`` steps of pretraining or of one refinement, with the project's
    loop, with ``plain_train`` swapped in for it (``loop == "plain"``), with the project's
    loop and PyTorch's default (unfused) optimizer kernels (``"unfused"``, the loop before
    fused kernels), or with the project's loop in ``precision: bf16`` (``"bf16"``)."""
    import torch

    from deepclust.algorithms import ALGORITHMS, dcn, dec, dekm
    from deepclust.algorithms.base import InitialClustering
    from deepclust.models import pretrain
    from deepclust.models.autoencoder import FeedforwardAutoencoder, embed

    modules = {"pretrain": pretrain, "dec": dec, "idec": dec, "dcn": dcn, "dekm": dekm}
    if loop == "plain":
        modules[what].train = plain_train  # the module's own reference to the loop
    if loop == "unfused":
        fused = modules[what].make_optimizer
        modules[what].make_optimizer = lambda *a, **k: plain_optimizer(fused(*a, **k))
    generator = torch.Generator().manual_seed(0)
    if what == "pretrain":
        cfg = {"hidden": DIMS[1:-1], "embedding_dim": DIMS[-1], "epochs": 1,
               "batch_size": batch_size, "optimizer": "adam", "lr": 0.001,
               "precision": "bf16" if loop == "bf16" else "fp32"}  # fmt: skip
        X = X[: steps * batch_size]  # one "epoch" of exactly `steps` steps
        start = time.perf_counter()
        pretrain.pretrain(cfg, X, generator=generator, progress=False)
        sync(X.device)
        return time.perf_counter() - start
    ae = FeedforwardAutoencoder(DIMS).to(X.device)
    z = embed(ae, X)
    k = 10
    labels = torch.randint(0, k, (len(X),), generator=generator)
    centers = z[torch.randperm(len(X), generator=generator)[:k]]
    init = InitialClustering(labels=labels.numpy(), centers=centers.cpu().numpy())
    one_epoch = {"update_interval": steps, "max_iter": steps, "batch_size": batch_size}
    params = {
        "dec": one_epoch,
        "idec": one_epoch,
        "dcn": {"epochs": 1, "batch_size": batch_size},
        "dekm": {**one_epoch, "tol": 0.0},
    }[what]
    algorithm = ALGORITHMS[what]
    X = X[: steps * batch_size]
    init = InitialClustering(labels=init.labels[: len(X)], centers=init.centers)
    start = time.perf_counter()
    algorithm.fit(ae, X, init, algorithm.params(**params), generator=generator, progress=False)
    sync(X.device)
    return time.perf_counter() - start


def plain_train(objective, X, optimizer, *, batch_size, max_steps, generator, **_) -> list:
    """The loop as commonly written: a DataLoader over (sample, index) pairs, the optimizer
    without fused kernels, ``loss.item()`` every step. Same objective, same callbacks."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    optimizer = plain_optimizer(optimizer)
    dataset = TensorDataset(X, torch.arange(len(X), device=X.device))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)
    step, epoch, history = 0, 0, []
    while step < max_steps:
        epoch += 1
        for xb, idx in loader:
            if objective.before_step is not None:
                objective.before_step(step)
                if objective.stop:
                    return history
            loss = objective.batch_loss(xb, idx)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if objective.after_step is not None:
                objective.after_step(xb, idx)
            history.append({"step": step, "epoch": epoch, "loss": loss.item()})
            step += 1
            if step == max_steps:
                return history
    return history


def plain_optimizer(optimizer):
    """The same optimizer class and hyperparameters, with PyTorch's default kernels."""
    groups = [
        {k: v for k, v in group.items() if k not in ("fused", "foreach")}
        for group in optimizer.param_groups
    ]
    return type(optimizer)(groups)


def sync(device) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


# --- the pipeline, once with shared pretraining and once with a pretraining per algorithm ----


def pipeline_times() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    shared = snakemake_seconds(config)
    per_algorithm = sum(
        snakemake_seconds({**config, "algorithms": {name: cfg}})
        for name, cfg in config["algorithms"].items()
    )
    print(f"\npipeline (config.yaml, {len(config['algorithms'])} algorithms): "
          f"shared pretraining {shared:.0f} s, pretraining per algorithm {per_algorithm:.0f} s "
          f"({per_algorithm / shared:.2f}x)")  # fmt: skip


def snakemake_seconds(config: dict, tree: Path = ROOT, cores: int | None = None,
                      rules: dict | None = None) -> float:  # fmt: skip
    """Wall time of the pipeline of ``config`` with the code of ``tree``, in a fresh folder;
    ``rules`` (if given) receives each rule's summed job seconds from Snakemake's benchmarks."""
    import pandas as pd
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "config.yaml").write_text(yaml.safe_dump({**config, "progress": False}))
        command = [str(Path(sys.executable).with_name("snakemake")), "-s", str(tree / "Snakefile"),
                   "-d", str(work), "--configfile", str(work / "config.yaml"), "--cores",
                   str(cores or os.cpu_count()), "-q"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        env["PYTHONPATH"] = str(tree / "src")
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        seconds = time.perf_counter() - start
        for tsv in (work / "benchmarks").rglob("*.tsv") if rules is not None else []:
            rule = tsv.relative_to(work / "benchmarks").parts[0]
            rules[rule] = rules.get(rule, 0.0) + float(pd.read_csv(tsv, sep="\t")["s"].sum())
        return seconds


def thread_budget_times(ref: str) -> None:
    """The default pipeline before the thread budget (the code at ``ref``), with this tree's
    budget, and with 2 threads for the training stages, one after the other."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    two = {"prepare": 1, "pretrain": 2, "init": 2, "fit": 2}
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp)
        subprocess.run(f"git -C {ROOT} archive {ref} | tar -x -C {before}", shell=True,
                       check=True)  # fmt: skip
        runs = [
            (f"before ({ref}): no threads: declared", before, config),
            ("after: config.yaml's threads (1 per job)", ROOT, config),
            ("after: threads 2 for pretrain, init, fit", ROOT, {**config, "threads": two}),
        ]
        print(f"default pipeline, --cores 2, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        for label, tree, cfg in runs:
            rules: dict[str, float] = {}
            seconds = snakemake_seconds(cfg, tree, cores=2, rules=rules)
            jobs = ", ".join(f"{k} {v:.0f}" for k, v in sorted(rules.items()))
            print(f"{label}: {seconds:.0f} s (job seconds by rule: {jobs}); "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
