#!/usr/bin/env bash
# Regenerate docs/results.md: run configs/{results,layerwise,dynae,conv,survey}.yaml, each in its
# own folder under runs/ (cached: a rerun only does what is missing), then write the document:
# the campaign ledgers' tables first (the CPU reproduction, scripts/reproduce.sh, and the
# survey's methods, collected here into docs/reproduction/survey.csv), then each workdir's.
#   bash scripts/results.sh [CORES]      (needs DEEPCLUST_MIRROR or internet for MNIST-test)
set -euo pipefail
cd "$(dirname "$0")/.."
cores=${1:-2}
for name in results layerwise dynae conv survey; do
    mkdir -p "runs/$name"
    cp "configs/$name.yaml" "runs/$name/config.yaml"
    .venv/bin/snakemake -s Snakefile -d "runs/$name" --configfile "runs/$name/config.yaml" \
        --cores "$cores"
done
.venv/bin/deepclust collect --config runs/survey/config.yaml --workdir runs/survey \
    --ledger docs/reproduction/survey.csv
.venv/bin/deepclust results-doc --workdir runs/results --workdir runs/layerwise \
    --workdir runs/dynae --workdir runs/conv \
    --ledger docs/reproduction/reproduce-cpu.csv --ledger docs/reproduction/survey.csv \
    --notes configs/results-notes.md --out docs/results.md
