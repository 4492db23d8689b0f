rule init:
    input:
        **inputs("init"),
    output:
        **outputs("init"),
    params:
        **params("init"),
    log:
        "logs/init/{dataset}/{ae}/seed-{seed}.log",
    benchmark:
        "benchmarks/init/{dataset}/{ae}/seed-{seed}.tsv"
    threads: config["threads"]["init"]
    conda:
        ENV
    shell:
        shell_command("init")


# One job per algorithm; the code it runs is an input, so editing dec.py reruns DEC, IDEC and
# DCEC (whose fit imports it) and no other algorithm.
rule fit:
    input:
        **inputs("fit"),
    output:
        **outputs("fit"),
    params:
        **params("fit"),
    log:
        "logs/fit/{dataset}/{ae}/{algorithm}/seed-{seed}.log",
    benchmark:
        "benchmarks/fit/{dataset}/{ae}/{algorithm}/seed-{seed}.tsv"
    threads: config["threads"]["fit"]
    conda:
        ENV
    shell:
        shell_command("fit")
