rule prepare:
    input:
        **inputs("prepare"),
    output:
        **outputs("prepare"),
    params:
        **params("prepare"),
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "benchmarks/prepare/{dataset}.tsv"
    threads: config["threads"]["prepare"]
    conda:
        ENV
    shell:
        "{params.command} > {log} 2>&1"
