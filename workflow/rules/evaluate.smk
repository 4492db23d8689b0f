rule evaluate:
    input:
        **inputs("evaluate"),
    output:
        **outputs("evaluate"),
    params:
        **params("evaluate"),
    log:
        "logs/evaluate/{dataset}/{ae}/{algorithm}/seed-{seed}.log",
    threads: 1  # scores and tables
    conda:
        ENV
    shell:
        shell_command("evaluate")


rule summarize:
    input:
        **inputs("summarize"),
    output:
        **outputs("summarize"),
    params:
        **params("summarize"),
    log:
        "logs/summarize.log",
    threads: 1  # scores and tables
    conda:
        ENV
    shell:
        shell_command("summarize")
