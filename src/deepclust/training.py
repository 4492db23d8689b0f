"""The one training loop: pretraining and every refinement run through it.

The loop owns batching (the dataset stays resident on the device; batches are index slices
of a per-epoch permutation drawn from the run's generator), the optimiser step, the NaN
check, the progress bar and the history. An algorithm supplies an ``Objective``: the loss of
a batch and, optionally, its own updates before and after each step (DEC's target
distribution every T steps, DCN's centroid update after each batch), its stop rule and the
state those updates keep (``Objective.state``).

Checkpoints and resume. A stage opens ``checkpointing(path, fingerprint, every_s)`` around
its work and passes the ``Checkpointer`` it yields down to every ``train`` call (an
algorithm's ``fit(..., checkpointer=)``, ``pretrain(..., checkpointer=)``); each such call is
then one *phase* (layer-wise pretraining has one per layer pair, then the end-to-end phase).
At a step boundary, every ``every_s`` seconds and when SIGTERM arrives (what Slurm sends
before it kills a job), the loop writes the checkpoint atomically: for each phase of the stage
so far, the parameters its optimiser trains, the optimiser's state, the step, the generator's
and torch's global RNG state, the epoch permutation, the partial epoch sums, the history and
the objective's ``state``. After SIGTERM it exits with status 143. Running the stage again
with the same fingerprint skips the finished phases (restoring their end state) and continues
the interrupted one from its step, so on the CPU the result is bit-identical to that of an
uninterrupted run. A checkpoint whose fingerprint differs (another config, seed, input or
version) is ignored with a warning and overwritten; one that cannot be read (empty, truncated
by a power loss) is renamed to ``<name>.unreadable-<time>`` with a warning and training starts
over. A periodic checkpoint that cannot be written (a full disk) is a warning and training goes
on. The checkpoint also records the training time so far (``elapsed_s``: a resumed stage
reports the sum) and torch's thread count (a resume under another count warns: the last bits
of the result may differ). The stage removes the checkpoint when it succeeds.

An algorithm's resumable state. Whatever the callbacks keep between steps besides the trained
parameters (DEC's target distribution, DCN's centroids and counts, an LR scheduler, a critic
network) is declared as the fields of a ``TrainingState`` dataclass and passed as
``Objective.state``; the callbacks read and write its attributes (``state.p``). On resume the
loop calls its ``load_state_dict``, which refills that same object: a stateful field (a module,
an optimiser, a scheduler) is loaded in place, a tensor or a plain value is replaced by the
saved one. So a callback must reach a tensor through the state object (``state.labels``), never
through a local name bound to it before ``train`` (it would keep the pre-resume tensor).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from deepclust import io
from deepclust.io import CorruptFileError

log = logging.getLogger("deepclust")

TERMINATED_EXIT_CODE = 128 + signal.SIGTERM  # what a shell reports for a SIGTERM death


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message names the step and the loss terms."""


class Terminated(SystemExit):
    """SIGTERM arrived; the checkpoint was written and the stage exits with status 143."""

    def __init__(self) -> None:
        super().__init__(TERMINATED_EXIT_CODE)


class TrainingState:
    """Base of an algorithm's declared resumable state (module docstring): subclass it as a
    ``@dataclass`` whose fields are tensors, plain values (numbers, strings, lists, dicts of
    those) or objects with ``state_dict``/``load_state_dict``."""

    def state_dict(self) -> dict[str, Any]:
        names = [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        return {name: _state_of(getattr(self, name)) for name in names}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Load stateful fields in place; replace tensors (on the device of the current value)
        and plain values."""
        for name, value in saved.items():
            current = getattr(self, name)
            if _stateful(current):
                current.load_state_dict(value)
            elif _tensor(value):
                setattr(self, name, value.to(current.device) if _tensor(current) else value)
            else:
                setattr(self, name, copy.deepcopy(value))


@dataclass
class LabelState(TrainingState):
    """The resumable state of a method whose callbacks keep only the labels of the last update
    (for ``delta_label``, and as the assignment its loss uses)."""

    labels: torch.Tensor


def _state_of(value: Any) -> Any:
    return value.state_dict() if _stateful(value) else value


@dataclass
class Objective:
    """What an algorithm plugs into ``train``.

    ``batch_loss(x, idx)`` returns the loss terms of one batch; ``"loss"`` is minimised.
    ``before_step(step)`` may return a dict of metrics to log (e.g. ``delta_label``) and sets
    ``stop`` to end training. ``after_step(x, idx)`` runs after the optimiser step. ``state``:
    what the callbacks keep between steps, checkpointed with the run (a ``TrainingState``, or
    any object with ``state_dict``/``load_state_dict`` such as an LR scheduler).
    """

    batch_loss: Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]
    before_step: Callable[[int], dict | None] | None = None
    after_step: Callable[[torch.Tensor, torch.Tensor], None] | None = None
    state: Any = None
    stop: bool = field(default=False, init=False)


def make_optimizer(params, name: str, lr: float, momentum: float = 0.0) -> torch.optim.Optimizer:
    """Adam or SGD with PyTorch's fused kernels: one pass over the parameters per step instead
    of several (on a 2-core CPU that is 5 ms of a 40 ms MNIST step, see docs/performance.md)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, fused=True)
    raise ValueError(f"unknown optimizer '{name}'; known: adam, sgd")


def pretraining_steps(ae_cfg: dict, n: int, batch_size: int) -> int:
    """Optimiser steps of an autoencoder config's pretraining: ``steps`` when it is set, else
    ``epochs`` passes over ``n`` samples in batches of ``batch_size``. A budget in steps is the
    same amount of training whatever the dataset's size (50 epochs are 100 steps on 400
    samples and 13,700 on MNIST-full)."""
    if ae_cfg.get("steps") is not None:
        return int(ae_cfg["steps"])
    return ae_cfg["epochs"] * math.ceil(n / batch_size)


def autocast_bf16(device: torch.device, precision: str) -> torch.autocast:
    """``torch.autocast`` on ``device``, enabled for ``precision == "bf16"``: matrix products
    run in bfloat16 with fp32 accumulation, while parameters, gradients, the optimizer and
    losses such as ``mse_loss`` stay fp32 (PyTorch's autocast op lists)."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"unknown precision '{precision}'; known: fp32, bf16")
    if precision == "bf16" and not native_bf16(device):
        log.warning(
            "precision bf16 on a CPU without native bf16 (%s, no AVX-512 BF16 or AMX): "
            "bf16 is emulated there and much slower than fp32 (measured 12x on an AVX2 EPYC, "
            "docs/performance.md); use precision fp32",
            torch.backends.cpu.get_cpu_capability(),
        )
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 matrix products natively: any accelerator, a CPU
    with AVX-512 BF16 or AMX. Unknown (an older torch without the probes) counts as native."""
    if device.type != "cpu":
        return True
    probes = [
        getattr(torch.cpu, name, None)
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    ]
    return any(probe is None or probe() for probe in probes)


class Checkpointer:
    """A stage's checkpoint file: the records of its phases, written atomically."""

    def __init__(self, path: str | Path, fingerprint: str, every_s: float | None) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.every_s = every_s
        self.resumed: list[dict] = []  # phase records read from the file
        self.records: list[dict] = []  # phase records of this run (the finished ones)
        self.terminate = False  # SIGTERM arrived
        self.in_loop = False  # a train() loop is running and will handle SIGTERM itself
        self.started = self.last_save = time.monotonic()
        self.elapsed_before = 0.0  # training seconds of the runs before this one
        io.remove_temporaries(self.path)  # left by a SIGKILL during a save
        saved = self._read() if self.path.exists() else None
        if saved is None:
            return
        if saved.get("fingerprint") != fingerprint:
            warnings.warn(
                f"ignoring checkpoint {self.path}: it was written for another config, code, "
                "seed, input or version; starting over",
                stacklevel=2,
            )
            return
        self.resumed = saved["phases"]
        self.elapsed_before = float(saved.get("elapsed_s", 0.0))
        log.info("resuming from checkpoint %s", self.path)
        threads = saved.get("threads")
        if threads is not None and threads != torch.get_num_threads():
            warnings.warn(
                f"checkpoint {self.path} was written with {threads} torch threads, this run "
                f"has {torch.get_num_threads()}: the result may differ in its last bits from "
                f"an uninterrupted run (rerun with --threads {threads} to match it)",
                stacklevel=2,
            )

    def _read(self) -> dict | None:
        """The saved checkpoint, or None after setting an unreadable one aside."""
        try:
            saved = io.load_torch(self.path, fix="")
            if isinstance(saved.get("phases"), list):
                return saved
            problem = "it has no phases"
        except CorruptFileError as err:
            problem = str(err).rstrip("; ")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.unreadable-{stamp}")
        self.path.replace(aside)
        warnings.warn(
            f"checkpoint {self.path} cannot be read ({problem}); set aside as {aside.name}, "
            "starting over",
            stacklevel=3,
        )
        return None

    def elapsed_s(self) -> float:
        """Training seconds of this stage, summed over the runs it was resumed from."""
        return self.elapsed_before + time.monotonic() - self.started

    def _write(self, phases: list[dict]) -> bool:
        """Write the checkpoint; on failure (a full disk) warn and return False."""
        try:
            io.save_torch(
                self.path,
                {"fingerprint": self.fingerprint, "phases": phases,
                 "elapsed_s": self.elapsed_s(), "threads": torch.get_num_threads()},
            )  # fmt: skip
        except (OSError, RuntimeError) as err:
            warnings.warn(
                f"could not write checkpoint {self.path} ({err}); training goes on, but a "
                "kill now would lose the progress since the last checkpoint",
                stacklevel=3,
            )
            return False
        return True

    def next_phase(self) -> tuple[int, dict | None]:
        """Open the next phase; return its number and its record in the resumed file."""
        number = len(self.records)
        self.records.append({})  # a placeholder until the phase saves or finishes
        record = self.resumed[number] if number < len(self.resumed) else None
        return number, record

    def due(self) -> bool:
        return self.every_s is not None and time.monotonic() - self.last_save >= self.every_s

    def save(self, number: int, record: dict) -> None:
        self.records[number] = record
        self._write([r for r in self.records if r])
        self.last_save = time.monotonic()

    def finish(self, number: int, record: dict) -> None:
        self.records[number] = record
        self.in_loop = False
        self.check_terminate()

    def check_terminate(self) -> None:
        if self.terminate:
            phases = [r for r in self.records if r]
            if phases and self._write(phases):
                log.warning("SIGTERM: checkpoint written to %s; exiting", self.path)
            else:
                log.warning("SIGTERM: exiting without a new checkpoint")
            raise Terminated

    def on_sigterm(self, signum, frame) -> None:
        self.terminate = True
        if not self.in_loop:  # between phases or after them: every record is complete
            self.check_terminate()


@contextlib.contextmanager
def checkpointing(
    path: str | Path, fingerprint: str, every_s: float | None
) -> Iterator[Checkpointer]:
    """The checkpointer of ``path`` for the ``train`` calls it is passed to in the block;
    remove the file when the block ends without an error. ``every_s``: seconds between
    checkpoints (0 = every step, None = only on SIGTERM). SIGTERM is caught while the block runs
    (in the main thread)."""
    ckpt = Checkpointer(path, fingerprint, every_s)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, ckpt.on_sigterm) if main else None
    try:
        yield ckpt
        ckpt.path.unlink(missing_ok=True)
        io.remove_temporaries(ckpt.path)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def train(
    objective: Objective,
    X: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int,
    max_steps: int,
    generator: torch.Generator,
    desc: str = "train",
    progress: bool = True,
    precision: str = "fp32",
    checkpointer: Checkpointer | None = None,
) -> list[dict]:
    """Run up to ``max_steps`` optimiser steps over shuffled batches of ``X``.

    Returns the history: one row per epoch (mean of each loss term over its steps) plus one
    row for every ``before_step`` call that reported metrics. With a ``checkpointer`` the run
    is one phase of its stage, checkpointed and resumed (module docstring).
    ``precision="bf16"`` runs ``batch_loss`` under ``torch.autocast`` with bfloat16
    (``autocast_bf16``).
    """
    n = len(X)
    steps_per_epoch = math.ceil(n / batch_size)
    autocast = autocast_bf16(X.device, precision)
    loop = _Loop(objective, optimizer, generator, X.device)
    ckpt = checkpointer
    number, record = ckpt.next_phase() if ckpt is not None else (0, None)
    if record is not None:
        loop.restore(record)
        if record["done"]:
            log.info("%s: finished before the interruption, restored", desc)
            ckpt.finish(number, record)
            return copy.deepcopy(loop.history)
        log.info("%s: resuming at step %d of %d", desc, loop.step, max_steps)
    if ckpt is not None:
        ckpt.in_loop = True
    bar = tqdm(
        total=max_steps, initial=loop.step, desc=desc, disable=not progress, unit="step",
        leave=False,
    )  # fmt: skip
    history = loop.history
    while loop.step < max_steps:
        step = loop.step
        if ckpt is not None and (ckpt.terminate or (step > loop.start and ckpt.due())):
            ckpt.save(number, loop.snapshot(done=False))
            ckpt.check_terminate()
        epoch, pos = divmod(step, steps_per_epoch)
        if pos == 0:
            loop.perm = torch.randperm(n, generator=generator).to(X.device)
        if objective.before_step is not None:
            info = objective.before_step(step)
            if info:
                history.append({"step": step, "epoch": epoch, **info})
            if objective.stop:
                break
        idx = loop.perm[pos * batch_size : (pos + 1) * batch_size]
        xb = X[idx]
        with autocast:
            terms = objective.batch_loss(xb, idx)
        loss = terms["loss"]
        if not torch.isfinite(loss):
            values = {k: float(v.detach()) for k, v in terms.items()}
            raise NonFiniteLossError(f"{desc}: non-finite loss at step {step}: {values}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if objective.after_step is not None:
            objective.after_step(xb, idx)
        for k, v in terms.items():  # summed where they are: no device sync per step
            loop.sums[k] = loop.sums.get(k, 0.0) + v.detach().double()
        loop.n_in_epoch += 1
        loop.step = step = step + 1
        bar.update(1)
        if step % steps_per_epoch == 0 or step == max_steps:
            row = {"step": step, "epoch": epoch + 1}
            row.update({k: float(v) / loop.n_in_epoch for k, v in loop.sums.items()})
            history.append(row)
            bar.set_postfix(loss=f"{row['loss']:.4g}")
            loop.sums, loop.n_in_epoch = {}, 0
    bar.close()
    if ckpt is not None:
        ckpt.finish(number, loop.snapshot(done=True))
    return history


class _Loop:
    """The loop's resumable state, and its snapshots (CPU copies) for the checkpoint."""

    def __init__(self, objective, optimizer, generator, device) -> None:
        self.objective, self.optimizer, self.generator = objective, optimizer, generator
        self.device = device
        self.step = self.start = 0
        self.perm = torch.empty(0, dtype=torch.long)
        self.sums: dict[str, torch.Tensor | float] = {}  # loss terms' sums this epoch
        self.n_in_epoch = 0
        self.history: list[dict] = []

    def params(self) -> list[torch.Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def snapshot(self, done: bool) -> dict:
        state = self.objective.state
        record = {
            "done": done,
            "step": self.step,
            "perm": self.perm.cpu().clone(),
            "sums": {k: float(v) for k, v in self.sums.items()},
            "n_in_epoch": self.n_in_epoch,
            "history": copy.deepcopy(self.history),
            "stop": self.objective.stop,
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "params": [p.detach().cpu().clone() for p in self.params()],
            "optimizer": _cpu_copy(self.optimizer.state_dict()),
            "state": None if state is None else _cpu_copy(state.state_dict()),
        }
        if self.device.type == "cuda":
            record["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return record

    def restore(self, record: dict) -> None:
        self.step = self.start = record["step"]
        self.perm = record["perm"].to(self.device)
        self.sums = dict(record["sums"])
        self.n_in_epoch = record["n_in_epoch"]
        self.history = copy.deepcopy(record["history"])
        self.objective.stop = record["stop"]
        self.generator.set_state(record["generator"])
        torch.set_rng_state(record["torch_rng"])
        if "cuda_rng" in record and self.device.type == "cuda":
            torch.cuda.set_rng_state(record["cuda_rng"], self.device)
        with torch.no_grad():
            for p, saved in zip(self.params(), record["params"], strict=True):
                p.copy_(saved)
        self.optimizer.load_state_dict(record["optimizer"])
        if self.objective.state is not None:
            self.objective.state.load_state_dict(record["state"])


def _stateful(obj: Any) -> bool:
    return hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict")


def _tensor(obj: Any) -> bool:
    return isinstance(obj, torch.Tensor)


def _cpu_copy(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_cpu_copy(v) for v in obj)
    return copy.deepcopy(obj)
