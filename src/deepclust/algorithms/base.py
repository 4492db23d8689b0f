"""What every algorithm is: a name, a family, paper-default parameters, presets and a ``fit``.

``fit(autoencoder, X, init, params, *, generator, progress, checkpointer=None) ->
ClusteringResult`` promises: it works on a copy of the autoencoder (the caller's is never
changed); all randomness comes from ``generator``; it never sees ground-truth labels; a
non-finite loss raises; it shows a tqdm bar when ``progress`` is true; every ``train`` call gets
``checkpointer`` (``training``: checkpoints and resume). The device is ``X.device``. A method
whose paper trains its own networks instead of the shared autoencoder (DAMIC) says so in its
docstring.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from deepclust.augment import augmenter
from deepclust.settings import for_dataset


@dataclass(frozen=True)
class InitialClustering:
    labels: np.ndarray  # (n,) int64
    centers: np.ndarray  # (k, d) float32, in embedding space
    inertia: float = float("nan")


@dataclass
class ClusteringResult:
    labels: np.ndarray  # the algorithm's OWN final assignment (never a silent k-means re-run)
    embedding: np.ndarray  # (n, d) from the fine-tuned encoder
    centers: np.ndarray | None
    history: list[dict]  # one row per epoch / update; never contains ground truth
    state: dict = field(default_factory=dict)  # state_dicts of fine-tuned networks


@dataclass(frozen=True)
class Algorithm:
    name: str  # also the CLI, Snakemake and DVC key
    family: Literal["sequential", "alternating", "simultaneous", "generative"]
    params: type  # frozen dataclass whose defaults are the paper's
    fit: Callable[..., ClusteringResult]
    # preset → overrides of the defaults; a preset's ``by_dataset`` maps a dataset to its own
    # overrides (``paper`` = the defaults, plus the papers' per-dataset values if given;
    # ``fast``: a short CPU run; ``tiny``: a few steps on ~100 samples, for smoke runs and tests)
    presets: dict[str, dict] = field(default_factory=dict)
    init: Literal["kmeans", "random", "none"] = "kmeans"
    autoencoder_kinds: tuple[str, ...] = ("dense", "conv")  # the autoencoder kinds it accepts
    # finds its own number of clusters (DDC): fewer than k is its answer, not a collapse
    chooses_k: bool = False

    def params_from_config(self, cfg: dict | None, dataset: str | None = None):
        """Build the params for ``dataset`` from an ``algorithms.<name>`` block. Later wins:
        the defaults, the preset, the preset's ``by_dataset`` entry, the block's own keys,
        the block's ``by_dataset`` entry (which may name another preset)."""
        cfg = for_dataset(cfg or {}, dataset)
        preset = cfg.pop("preset", "paper")
        known_presets = ", ".join(dict.fromkeys(["paper", *self.presets]))
        if preset != "paper" and preset not in self.presets:
            raise ValueError(
                f"algorithms.{self.name}: unknown preset '{preset}'; known: {known_presets}"
            )
        fields = [f.name for f in dataclasses.fields(self.params)]
        for key in cfg:
            if key not in fields:
                known = ", ".join(fields) or "(none)"
                raise ValueError(f"algorithms.{self.name}: unknown key '{key}'; known: {known}")
        values = for_dataset(self.presets.get(preset, {}), dataset)
        return self.params(**{**values, **cfg})


def refined_result(
    ae: torch.nn.Module,
    z: torch.Tensor,
    labels: torch.Tensor,
    centers: torch.Tensor,
    history: list[dict],
    **extra_state: torch.Tensor,
) -> ClusteringResult:
    """A refinement's result: its own labels, the final embedding and centers, and the
    fine-tuned network with the cluster parameters (plus ``extra_state``) to save."""
    centers = centers.detach().cpu()
    return ClusteringResult(
        labels=labels.cpu().numpy(),
        embedding=z.cpu().numpy(),
        centers=centers.numpy(),
        history=history,
        state={"autoencoder": ae.state_dict(), "centers": centers, **extra_state},
    )


def augmentation(
    ae: torch.nn.Module, params, generator: torch.Generator, name: str
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """x ↦ x^A for an algorithm whose ``params.augment`` is true (survey Eq. 20-25), else None:
    a random shift and rotation of the autoencoder's images, drawn from the run's generator.
    Raises a ValueError naming ``algorithms.<name>.augment`` if the data are not images."""
    if not params.augment:
        return None
    return augmenter(
        ae.image_shape,
        generator,
        max_shift=params.max_shift,
        max_rotation=params.max_rotation,
        key=f"algorithms.{name}.augment",
    )


def nearest_center(z: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Index of the nearest center (squared Euclidean) for each row of ``z``."""
    return torch.cdist(z, centers).argmin(dim=1)


def fraction_changed(new: torch.Tensor, old: torch.Tensor) -> tuple[float, int]:
    """DEC's ``delta_label``: the fraction (and count) of labels that differ."""
    n_changed = int((new != old).sum())
    return n_changed / len(new), n_changed


@torch.no_grad()
def cluster_means(z: torch.Tensor, labels: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """μ_j = mean{z_i : y_i = j}; a cluster with no member keeps its ``previous`` center."""
    k = len(previous)
    counts = torch.bincount(labels, minlength=k).to(z.dtype)
    sums = torch.zeros_like(previous).index_add_(0, labels, z)
    means = sums / counts.clamp(min=1)[:, None]
    return torch.where(counts[:, None] > 0, means, previous)


def draw_seed(generator: torch.Generator) -> int:
    """A seed for a library that takes its own (scikit-learn, umap-learn), drawn from the run's
    generator so that the run stays reproducible."""
    return int(torch.randint(2**31 - 1, (1,), generator=generator, device=generator.device))
