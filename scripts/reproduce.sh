#!/usr/bin/env bash
# The CPU reproduction campaign (configs/reproduce-cpu.yaml and its two USPS companions), one
# (dataset, seed) at a time in the order that answers the most first: MNIST-full seeds 0-2,
# Fashion-MNIST seeds 0-2, the five USPS seeds, DKM and DEKM on USPS with their authors' inputs
# (configs/reproduce-cpu-usps-inputs.yaml, -usps-conv.yaml), the survey's methods on USPS
# (configs/survey-cpu.yaml) and on MNIST-full (configs/survey-cpu-mnist.yaml, on the campaign's
# autoencoders), then the remaining seeds. After each (dataset, seed) its finished
# runs go into a committed ledger (docs/reproduction/reproduce-cpu.csv; the survey's methods:
# docs/reproduction/survey.csv) and the ledger's table into docs/results.md, so a
# campaign can stop (and be resumed on another machine, in another session) at any point
# without losing a number. Runs are checkpointed: rerunning the script continues where it
# stopped, and runs already in the ledger (same settings) are not run again, so a fresh
# checkout (its runs/ gone) goes on where the ledger stops. Each config runs in
# runs/<its name>, survey-cpu-mnist in runs/reproduce-cpu.
#   bash scripts/reproduce.sh [CORES]     (needs DEEPCLUST_MIRROR or internet; ~3 h per
#                                          MNIST-full or Fashion-MNIST seed on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
cores=${1:-2}
mkdir -p docs/reproduction

# run CONFIG DATASET SEED [LEDGER [WORKDIR]]: every (autoencoder, algorithm) of
# configs/CONFIG.yaml on one (dataset, seed) that the ledger lacks, then the ledger (default
# docs/reproduction/reproduce-cpu.csv). In another config's WORKDIR (default runs/CONFIG) the
# config is copied as CONFIG.yaml beside that one's config.yaml, and the jobs whose settings
# are the same (pretraining, k-means) reuse its files.
run() {
    local name=$1 dataset=$2 seed=$3 workdir=${5:-runs/$1}
    local ledger=${4:-docs/reproduction/reproduce-cpu.csv} config=$workdir/config.yaml
    [[ $workdir == "runs/$name" ]] || config=$workdir/$name.yaml
    mkdir -p "$workdir"
    cp "configs/$name.yaml" "$config"
    local pending targets  # the runs the ledger lacks: a fresh checkout reruns none it holds
    pending=$(.venv/bin/deepclust pending --config "$config" --ledger "$ledger" \
        --dataset "$dataset" --seed "$seed")
    mapfile -t targets <<<"$pending"
    if [[ -z $pending ]]; then
        echo "reproduce.sh: $name $dataset:$seed is in $ledger"
        return
    fi
    .venv/bin/snakemake -s Snakefile -d "$workdir" --configfile "$config" \
        --cores "$cores" --keep-going "${targets[@]}" || echo "reproduce.sh: $name $dataset:$seed had failures"
    .venv/bin/deepclust collect --config "$config" --workdir "$workdir" \
        --ledger "$ledger" --doc docs/results.md
}

for batch in mnist:0 mnist:1 mnist:2 fashion_mnist:0 fashion_mnist:1 fashion_mnist:2 usps:0 \
    usps:1 usps:2 usps:3 usps:4; do
    run reproduce-cpu "${batch%:*}" "${batch#*:}"
done
for seed in 0 1 2 3 4; do run reproduce-cpu-usps-inputs usps_signed "$seed"; done
for seed in 0 1 2; do run reproduce-cpu-usps-conv usps "$seed"; done
for seed in 0 1 2; do run survey-cpu usps "$seed" docs/reproduction/survey.csv; done
for seed in 0 1 2; do
    run survey-cpu-mnist mnist "$seed" docs/reproduction/survey.csv runs/reproduce-cpu
done
for batch in mnist:3 mnist:4 fashion_mnist:3 fashion_mnist:4; do
    run reproduce-cpu "${batch%:*}" "${batch#*:}"
done
