rule prepare:
    output:
        data=paths.DATA,
        card=paths.DATA_CARD,
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "benchmarks/prepare/{dataset}.tsv"
    shell:
        "{DEEPCLUST} prepare --config {CONFIGFILE} --dataset {wildcards.dataset}"
        " --out {output.data} > {log} 2>&1"
