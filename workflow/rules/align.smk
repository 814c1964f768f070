rule align:
    """One align task: an analysis and align.pairs_per_task of its model pairs, at every
    point of the analysis (its checkpoints, its stimulus sets), every layer pair
    (corresponding layers for the seed analyses, all across models) under every configured
    metric and correlation, in one process through the engine's grid."""
    input:
        align_inputs,
    output:
        PATHS["alignment"],
    log:
        LOG["align"],
    params:
        # one function each: a paper-scale DAG has hundreds of align jobs, and Snakemake
        # inspects every callable of every job
        scoring=align_options,
        labels=align_labels,
    threads: config["align"]["threads"]
    priority: PRIORITY["align"]
    conda:
        "../envs/convergent.yaml"
    shell:
        "OMP_NUM_THREADS={threads} convergent grid {params.scoring} {params.labels}"
        " --out {output:q} > {log:q} 2>&1"
