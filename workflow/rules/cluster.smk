rule init:
    input:
        model=paths.AE_MODEL,
        data=paths.DATA,
    output:
        paths.INIT,
    params:
        cfg=lambda wc: fingerprint(config["init"]),
    log:
        "logs/init/{dataset}/{ae}/seed-{seed}.log",
    benchmark:
        "benchmarks/init/{dataset}/{ae}/seed-{seed}.tsv"
    threads: config["threads"]["init"]
    conda:
        ENV
    shell:
        "deepclust init --pretrained {input.model} --data {input.data}"
        " --seed {wildcards.seed} --out {output} --threads {threads} > {log} 2>&1"


# One job per algorithm; the file of its fit is an input, so editing dec.py re-runs only DEC.
rule fit:
    input:
        model=paths.AE_MODEL,
        init=paths.INIT,
        data=paths.DATA,
        source=algorithm_source,
    output:
        result=paths.RUN_RESULT,
        history=paths.RUN_HISTORY,
        model=paths.RUN_MODEL,
    params:
        cfg=lambda wc: fingerprint(for_dataset(config["algorithms"][wc.algorithm], wc.dataset)),
        out=lambda wc, output: Path(output.result).parent,
    log:
        "logs/fit/{dataset}/{ae}/{algorithm}/seed-{seed}.log",
    benchmark:
        "benchmarks/fit/{dataset}/{ae}/{algorithm}/seed-{seed}.tsv"
    threads: config["threads"]["fit"]
    conda:
        ENV
    shell:
        "deepclust fit --algorithm {wildcards.algorithm}"
        " --pretrained {input.model} --init {input.init} --data {input.data}"
        " --seed {wildcards.seed} --out {params.out} --threads {threads} > {log} 2>&1"
