"""deepclust: autoencoder-based deep clustering as a pipeline (Snakemake, DVC) and a library.

The estimators (``deepclust.DEC``, ``deepclust.IDEC``, ``deepclust.AEKMeans``, …; see
``deepclust.estimators``) load on first use, so ``import deepclust`` stays light.
"""

from importlib.metadata import version

__version__ = version("deepclust")


def __getattr__(name: str):
    if name[:1].isupper():
        from deepclust.estimators import BY_CLASS_NAME

        if name in BY_CLASS_NAME:
            return BY_CLASS_NAME[name]
    raise AttributeError(f"module 'deepclust' has no attribute '{name}'")


def __dir__() -> list[str]:
    from deepclust.estimators import BY_CLASS_NAME

    return sorted([*globals(), *BY_CLASS_NAME])
