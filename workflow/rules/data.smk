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
        shell_command("prepare")
