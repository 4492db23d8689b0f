# One autoencoder per (dataset, ae, seed): its key has no algorithm, so every method reuses it.
rule pretrain:
    input:
        data=paths.DATA,
    output:
        model=paths.AE_MODEL,
        history=paths.AE_HISTORY,
    params:
        cfg=lambda wc: fingerprint(for_dataset(config["autoencoders"][wc.ae], wc.dataset)),
        out=lambda wc, output: Path(output.model).parent,
    log:
        "logs/pretrain/{dataset}/{ae}/seed-{seed}.log",
    benchmark:
        "benchmarks/pretrain/{dataset}/{ae}/seed-{seed}.tsv"
    threads: config["threads"]["pretrain"]
    conda:
        ENV
    shell:
        "deepclust pretrain --ae {wildcards.ae} --data {input.data}"
        " --seed {wildcards.seed} --out {params.out} --threads {threads} > {log} 2>&1"
