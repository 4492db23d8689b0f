# One autoencoder per (dataset, ae, seed): its key has no algorithm, so every method reuses it.
rule pretrain:
    input:
        **inputs("pretrain"),
    output:
        **outputs("pretrain"),
    params:
        **params("pretrain"),
    log:
        "logs/pretrain/{dataset}/{ae}/seed-{seed}.log",
    benchmark:
        "benchmarks/pretrain/{dataset}/{ae}/seed-{seed}.tsv"
    threads: config["threads"]["pretrain"]
    conda:
        ENV
    shell:
        shell_command("pretrain")
