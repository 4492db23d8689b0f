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
    threads: 1  # scores and tables
    conda:
        ENV
    shell:
        "deepclust evaluate --run {params.run} --data {input.data} --out {output}"
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
    params:
        out=lambda wc, output: Path(output.summary).parent,
    log:
        "logs/summarize.log",
    threads: 1  # scores and tables
    conda:
        ENV
    shell:
        "deepclust summarize --out {params.out} > {log} 2>&1"

