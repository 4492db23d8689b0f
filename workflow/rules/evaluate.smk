rule evaluate:
    input:
        result=paths.RUN_RESULT,
        data=paths.DATA,
    output:
        paths.RUN_METRICS,
    params:
        run=lambda wc, input: Path(input.result).parent,
    log:
        "logs/evaluate/{dataset}/{ae}/{algorithm}/seed-{seed}.log",
    shell:
        "{DEEPCLUST} evaluate --run {params.run} --data {input.data} --out {output}"
        " --dataset {wildcards.dataset} --ae {wildcards.ae} --algorithm {wildcards.algorithm}"
        " --seed {wildcards.seed} > {log} 2>&1"


rule summarize:
    input:
        paths.metrics_files(config),
    output:
        runs=paths.RUNS_CSV,
        summary=paths.SUMMARY_CSV,
        table=paths.SUMMARY_MD,
        metrics=paths.METRICS,
    log:
        "logs/summarize.log",
    shell:
        "{DEEPCLUST} summarize --config {CONFIGFILE} --out {paths.RESULTS} > {log} 2>&1"


rule report:
    input:
        paths.SUMMARY_CSV,
    output:
        report=paths.REPORT,
        figure=paths.METRICS_FIGURE,
    log:
        "logs/report.log",
    shell:
        "{DEEPCLUST} report --summary {input} --out {paths.RESULTS} > {log} 2>&1"
