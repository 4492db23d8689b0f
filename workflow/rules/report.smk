# Figures and tables for `snakemake --report report.html`: per-run figures (one job per run,
# cached like any artifact) and the summary-level report stage. In the report, a run's figures
# sit under category = dataset, subcategory = algorithm, labelled by seed.


report: "../report/workflow.rst"


REPORT = outputs("report")
RUN_FIGURES = [
    key.fmt(PLOT_RUN[name])
    for key in paths.runs(config)
    for name in ("embedding", "confusion", "training")
]


rule plot_run:
    input:
        **inputs("plot_run"),
    output:
        embedding=run_figure("embedding"),
        confusion=run_figure("confusion"),
        training=run_figure("training"),
        curve=PLOT_RUN["curve"],
        predictions=PLOT_RUN["predictions"],
    params:
        **params("plot_run"),
    log:
        "logs/plot_run/{dataset}/{ae}/{algorithm}/seed-{seed}.log",
    threads: 1  # UMAP with a fixed random_state runs on one thread
    benchmark:
        "benchmarks/plot_run/{dataset}/{ae}/{algorithm}/seed-{seed}.tsv"
    conda:
        ENV
    shell:
        shell_command("plot_run")


rule report:
    input:
        **inputs("report"),
    output:
        report=REPORT["report"],
        table=report(
            REPORT["table"],
            caption="../report/table.rst",
            category="Summary",
            labels={"figure": "results table"},
        ),
        figure=report(
            REPORT["figure"],
            caption="../report/metrics.rst",
            category="Summary",
            labels={"figure": "metrics per algorithm"},
        ),
        pretraining=[
            report(
                path,
                caption="../report/pretraining.rst",
                category=Path(path).stem,  # the dataset
                subcategory="pretraining",
                labels={"figure": "pretraining loss"},
            )
            for path in REPORT["pretraining"]
        ],
        curves=REPORT["curves"],
    params:
        **params("report"),
    log:
        "logs/report.log",
    threads: 1  # matplotlib figures
    conda:
        ENV
    shell:
        shell_command("report")
