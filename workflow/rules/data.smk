rule prepare:
    output:
        data=paths.DATA,
        card=paths.DATA_CARD,
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "benchmarks/prepare/{dataset}.tsv"
    threads: config["threads"]["prepare"]
    conda:
        ENV
    shell:
        "deepclust prepare --dataset {wildcards.dataset}"
        " --out {output.data} --threads {threads} > {log} 2>&1"
