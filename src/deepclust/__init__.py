"""deepclust: autoencoder-based deep clustering as a pipeline (Snakemake, DVC) and a library.

The estimators (``deepclust.DEC``, ``deepclust.IDEC``, ``deepclust.AEKMeans``, …; see
``deepclust.estimators``) load on first use, so ``import deepclust`` stays light.
"""

from importlib.metadata import PackageNotFoundError, version


def _source_version() -> str:
    """The version in the checkout's pyproject.toml, for a source tree on ``PYTHONPATH`` that
    was never installed (a GPU node's own Python with ``PYTHONPATH=src``, say)."""
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.is_file():
        raise ImportError(
            f"deepclust is not installed and {pyproject} is missing: install it "
            "(`pip install -e .`) or put a source checkout's src/ on PYTHONPATH"
        )
    return tomllib.loads(pyproject.read_text())["project"]["version"]


try:
    __version__ = version("deepclust")
except PackageNotFoundError:
    __version__ = _source_version()


def __getattr__(name: str):
    if name[:1].isupper():
        from deepclust.estimators import BY_CLASS_NAME

        if name in BY_CLASS_NAME:
            return BY_CLASS_NAME[name]
    raise AttributeError(f"module 'deepclust' has no attribute '{name}'")


def __dir__() -> list[str]:
    from deepclust.estimators import BY_CLASS_NAME

    return sorted([*globals(), *BY_CLASS_NAME])
