#!/usr/bin/env bash
# The CPU reproduction campaign (configs/reproduce-cpu.yaml), one (dataset, seed) at a time in
# the order that answers the most first: MNIST-full seeds 0-2, Fashion-MNIST seeds 0-2, the
# five USPS seeds (most of which are in the ledger already), then the remaining seeds. After each (dataset, seed) its
# finished runs go into the committed ledger docs/reproduction/reproduce-cpu.csv and the
# ledger's table into docs/results.md, so a campaign can stop (and be resumed on another
# machine, in another session) at any point without losing a number. Runs are checkpointed:
# rerunning the script continues where it stopped.
#   bash scripts/reproduce.sh [CORES]     (needs DEEPCLUST_MIRROR or internet; ~1.5 h per
#                                          MNIST-full or Fashion-MNIST seed on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
cores=${1:-2}
workdir=runs/reproduce-cpu
ledger=docs/reproduction/reproduce-cpu.csv
mkdir -p "$workdir" "$(dirname "$ledger")"
cp configs/reproduce-cpu.yaml "$workdir/config.yaml"
algorithms=$(.venv/bin/python -c "import yaml; print(*yaml.safe_load(open('$workdir/config.yaml'))['algorithms'])")
for batch in mnist:0 mnist:1 mnist:2 fashion_mnist:0 fashion_mnist:1 fashion_mnist:2 usps:0 usps:1 \
    usps:2 usps:3 usps:4 mnist:3 mnist:4 fashion_mnist:3 fashion_mnist:4; do
    dataset=${batch%:*} seed=${batch#*:}
    targets=()
    for algorithm in $algorithms; do
        targets+=("data/runs/$dataset/dense/$algorithm/seed-$seed/metrics.json")
    done
    .venv/bin/snakemake -s Snakefile -d "$workdir" --configfile "$workdir/config.yaml" \
        --cores "$cores" --keep-going "${targets[@]}" || echo "reproduce.sh: $batch had failures"
    .venv/bin/deepclust collect --config "$workdir/config.yaml" --workdir "$workdir" \
        --ledger "$ledger" --doc docs/results.md
done
