# Figures and tables for `snakemake --report report.html`: per-run figures (one job per run,
# cached like any artifact) and the summary-level report stage. In the report, a run's figures
# sit under category = dataset, subcategory = algorithm, labelled by seed.


report: "../report/workflow.rst"


RUN_FIGURES = [
    key.fmt(pattern)
    for key in paths.runs(config)
    for pattern in (paths.EMBEDDING_FIGURE, paths.CONFUSION_FIGURE, paths.TRAINING_FIGURE)
]


rule plot_run:
    input:
        result=paths.RUN_RESULT,
        history=paths.RUN_HISTORY,
        data=paths.DATA,
    output:
        embedding=report(
            paths.EMBEDDING_FIGURE,
            caption="../report/embedding.rst",
            category="{dataset}",
            subcategory="{algorithm}",
            labels={"seed": "{seed}", "autoencoder": "{ae}", "figure": "embedding"},
        ),
        confusion=report(
            paths.CONFUSION_FIGURE,
            caption="../report/confusion.rst",
            category="{dataset}",
            subcategory="{algorithm}",
            labels={"seed": "{seed}", "autoencoder": "{ae}", "figure": "confusion"},
        ),
        training=report(
            paths.TRAINING_FIGURE,
            caption="../report/training.rst",
            category="{dataset}",
            subcategory="{algorithm}",
            labels={"seed": "{seed}", "autoencoder": "{ae}", "figure": "training"},
        ),
        curve=paths.RUN_CURVE,
        predictions=paths.RUN_PREDICTIONS,
    params:
        run=lambda wc, input: Path(input.result).parent,
        out=lambda wc, output: Path(output.embedding).parent,
    log:
        "logs/plot_run/{dataset}/{ae}/{algorithm}/seed-{seed}.log",
    threads: 1  # UMAP with a fixed random_state runs on one thread
    benchmark:
        "benchmarks/plot_run/{dataset}/{ae}/{algorithm}/seed-{seed}.tsv"
    conda:
        ENV
    shell:
        "deepclust plot-run --run {params.run} --data {input.data} --out {params.out}"
        " --curve {output.curve} --predictions {output.predictions}"
        " --dataset {wildcards.dataset} --ae {wildcards.ae} --algorithm {wildcards.algorithm}"
        " --seed {wildcards.seed} > {log} 2>&1"


rule report:
    input:
        summary=paths.SUMMARY_CSV,
        runs=paths.RUNS_CSV,
        histories=[key.fmt(paths.AE_HISTORY) for key in paths.runs(config)],
    output:
        report=paths.REPORT,
        table=report(
            paths.REPORT_TABLE,
            caption="../report/table.rst",
            category="Summary",
            labels={"figure": "results table"},
        ),
        figure=report(
            paths.METRICS_FIGURE,
            caption="../report/metrics.rst",
            category="Summary",
            labels={"figure": "metrics per algorithm"},
        ),
        pretraining=[
            report(
                paths.PRETRAIN_FIGURE.format(dataset=dataset),
                caption="../report/pretraining.rst",
                category=dataset,
                subcategory="pretraining",
                labels={"figure": "pretraining loss"},
            )
            for dataset in config["datasets"]
        ],
        curves=[key.fmt(paths.PRETRAIN_CURVE) for key in paths.runs(config)],
    params:
        out=lambda wc, output: Path(output.report).parent,
    log:
        "logs/report.log",
    threads: 1  # matplotlib figures
    conda:
        ENV
    shell:
        "deepclust report --summary {input.summary} --out {params.out} > {log} 2>&1"
