#!/usr/bin/env bash
# Create .venv and install deepclust into it (idempotent).
#   bash scripts/install.sh          # deepclust[all]: the pipeline, figures and data readers
#   bash scripts/install.sh --dev    # plus the Slurm plugin and the test and lint tools
# The versions are those of workflow/envs/constraints.txt (the benchmark environment, whose
# digest each artifact records); DEEPCLUST_UNPINNED=1 takes the newest that pyproject allows.
# On a machine without an NVIDIA GPU, torch's small CPU build goes in first (a local
# wheel where pip knows one, else PyTorch's CPU index), so pip never pulls CUDA packages.
# With a GPU, the ordinary torch from PyPI (CUDA build) is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_CPU_VERSION=${TORCH_CPU_VERSION:-2.13.0}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check)

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        echo "install.sh: NVIDIA GPU found, installing torch from PyPI (CUDA build)" >&2
    elif "${pip[@]}" install -q --no-index --no-deps "torch==$TORCH_CPU_VERSION" 2>/dev/null; then
        echo "install.sh: no GPU, installed the local CPU build of torch $TORCH_CPU_VERSION" >&2
    else
        echo "install.sh: no GPU, installing torch's CPU build from $TORCH_CPU_INDEX" >&2
        "${pip[@]}" install -q "torch==$TORCH_CPU_VERSION" --index-url "$TORCH_CPU_INDEX"
    fi
fi

extras="[all]"
[ "${1:-}" = "--dev" ] && extras="[dev]"
constraints=(-c workflow/envs/constraints.txt)
[ "${DEEPCLUST_UNPINNED:-}" = "1" ] && constraints=()
"${pip[@]}" install -q -e ".$extras" "${constraints[@]}"
