rule train:
    """Train one model from one seed; a checkpoint per epoch (epoch0 = untrained)."""
    output:
        checkpoints=[PATHS["checkpoint"].replace("{epoch}", str(e)) for e in EPOCHS],
        log=PATHS["train_log"],
    log:
        LOG["train"],
    params:
        model=lambda wc: as_json(MODELS[wc.model]),
        data=as_json(config["data"]),
        settings=as_json({k: v for k, v in config["train"].items() if k != "threads"}),
        state=PATHS["state"],
        labels=lambda wc: labels(model=wc.model, seed=wc.seed),
    threads: config["train"]["threads"]
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent train --model {params.model:q} --seed {wildcards.seed} --data {params.data:q}"
        " --settings {params.settings:q} --state-dir {params.state:q}"
        " --checkpoints {output.checkpoints:q} --log {output.log:q} {params.labels}"
        " --threads {threads} > {log:q} 2>&1"
