# deepclust workflow: dataset → pretrained AE (dataset, ae, seed) → k-means → one refinement
# per algorithm → metrics → summary → report. Every rule only calls `python -m deepclust
# <stage>`; every path comes from deepclust.paths. Run: snakemake --cores 2
from snakemake.utils import min_version

min_version("9.0")


if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/slurm.smk"


rule all:
    default_target: True
    input:
        paths.SUMMARY_CSV,
        paths.REPORT,
        RUN_FIGURES,
