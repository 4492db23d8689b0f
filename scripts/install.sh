#!/usr/bin/env bash
# Create .venv and install deepclust into it (idempotent).
#   bash scripts/install.sh          # deepclust[all]: the pipeline, figures and data readers
#   bash scripts/install.sh --dev    # plus the Slurm plugin and the test and lint tools
#   bash scripts/install.sh --cuda   # torch's CUDA build even where no GPU is seen (a login node)
#   bash scripts/install.sh --cpu    # torch's CPU build even on a GPU machine
# The torch build (also DEEPCLUST_TORCH=auto|cuda|cpu; default auto): auto takes the CUDA build
# where `nvidia-smi` lists a GPU, else the small CPU build (a local wheel where pip knows one,
# else PyTorch's CPU index), so pip never pulls CUDA packages onto a CPU machine. The CUDA build
# is PyPI's torch (CUDA 12 on Linux x86-64), or the one from TORCH_CUDA_INDEX, e.g.
# https://download.pytorch.org/whl/cu126 for a node whose driver is older (docs/hpc.md).
# A CPU build already installed is replaced when the CUDA build is asked for.
# The other versions are those of workflow/envs/constraints.txt (the benchmark environment, whose
# digest each artifact records); DEEPCLUST_UNPINNED=1 takes the newest that pyproject allows.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-${TORCH_CPU_VERSION:-2.13.0}}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
TORCH_CUDA_INDEX=${TORCH_CUDA_INDEX:-}
build=${DEEPCLUST_TORCH:-auto}
extras="[all]"
for arg in "$@"; do
    case "$arg" in
        --dev) extras="[dev]" ;;
        --cuda) build=cuda ;;
        --cpu) build=cpu ;;
        *) echo "install.sh: unknown option '$arg' (--dev, --cuda, --cpu)" >&2; exit 2 ;;
    esac
done
case "$build" in
    auto) if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
              build=cuda; echo "install.sh: NVIDIA GPU found: torch's CUDA build" >&2
          else build=cpu; fi ;;
    cuda | cpu) ;;
    *) echo "install.sh: DEEPCLUST_TORCH must be auto, cuda or cpu, not '$build'" >&2; exit 2 ;;
esac

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check)
# the installed torch's CUDA version, "cpu" for its CPU build, "none" without torch
installed=$(.venv/bin/python -c "import torch; print(torch.version.cuda or 'cpu')" 2>/dev/null \
    || echo none)

if [ "$build" = cuda ] && { [ "$installed" = none ] || [ "$installed" = cpu ]; }; then
    [ "$installed" = cpu ] && "${pip[@]}" uninstall -q -y torch
    echo "install.sh: installing torch $TORCH_VERSION, CUDA build, from ${TORCH_CUDA_INDEX:-PyPI}" >&2
    "${pip[@]}" install -q "torch==$TORCH_VERSION" ${TORCH_CUDA_INDEX:+--index-url "$TORCH_CUDA_INDEX"}
elif [ "$build" = cpu ] && [ "$installed" = none ]; then
    if "${pip[@]}" install -q --no-index --no-deps "torch==$TORCH_VERSION" 2>/dev/null; then
        echo "install.sh: no GPU, installed the local CPU build of torch $TORCH_VERSION" >&2
    else
        echo "install.sh: no GPU, installing torch's CPU build from $TORCH_CPU_INDEX" >&2
        "${pip[@]}" install -q "torch==$TORCH_VERSION" --index-url "$TORCH_CPU_INDEX"
    fi
fi

constraints=(-c workflow/envs/constraints.txt)
[ "${DEEPCLUST_UNPINNED:-}" = "1" ] && constraints=()
"${pip[@]}" install -q -e ".$extras" "${constraints[@]}"

if [ "$build" = cuda ]; then  # say what this torch can do here (a login node has no GPU)
    .venv/bin/python - <<'PY' >&2
import torch
from deepclust.seeding import cuda_problem
if torch.version.cuda is None:
    raise SystemExit("install.sh: asked for torch's CUDA build but the CPU build is installed")
seen = torch.cuda.is_available()
print(f"install.sh: torch {torch.__version__}, CUDA {torch.version.cuda}: "
      + (f"uses {torch.cuda.get_device_name(0)}" if seen else f"no GPU usable here ({cuda_problem()});"
         " fine on a login node: the GPU jobs check it and fail if torch cannot use their GPU"))
PY
fi
