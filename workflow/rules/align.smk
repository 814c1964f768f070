rule align:
    """All layer pairs of one (analysis, model pair, epoch, stimulus set) through the engine's
    grid: corresponding layers for the seed analyses, every layer pair across models."""
    input:
        x=lambda wc: side(wc, "x"),
        y=lambda wc: side(wc, "y"),
        sized_by=matched_size,
    output:
        PATHS["alignment"],
    log:
        LOG["align"],
    params:
        metrics=align_metrics,
        pairs=lambda wc: "all" if wc.analysis == "cross" else "diagonal",
        corr=",".join(config["align"]["corr"]),  # every correlation in one job
        folds=config["align"]["folds"],
        seed=config["align"]["seed"],
        tests=significance,
        labels=lambda wc: labels(analysis=wc.analysis, model_x=wc.model_x, seed_x=wc.seed_x,
                                 model_y=wc.model_y, seed_y=wc.seed_y, epoch=wc.epoch,
                                 stimset=wc.stimset),
    threads: config["align"]["threads"]
    conda:
        "../envs/convergent.yaml"
    shell:
        "OMP_NUM_THREADS={threads} convergent grid {input.x:q} {input.y:q}"
        " --metrics {params.metrics} --pairs {params.pairs} --folds {params.folds}"
        " --seed {params.seed} --corr {params.corr} {params.tests} {params.labels}"
        " --out {output:q} > {log:q} 2>&1"
