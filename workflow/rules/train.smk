rule train:
    """Train one vision model from one seed (supervised or MoCo) with its own settings; it
    publishes the checkpoints of the model's axis (epoch0 = untrained), then its log."""
    output:
        log=PATHS["train_log"],
    log:
        LOG["train"],
    wildcard_constraints:
        model=alternatives(PLAN.trained("vision")),
    params:
        model=lambda wc: as_json({k: MODELS[wc.model][k] for k in ("arch", "width",
                                                                    "small_input")}),
        data=as_json(config["data"]),
        settings=lambda wc: as_json({**{k: v for k, v in MODELS[wc.model]["train"].items()
                                        if k != "threads"},
                                     "objective": MODELS[wc.model]["objective"]}),
        state=PATHS["state"],
        checkpoints=lambda wc: " ".join(shlex.quote(p)
                                        for p in checkpoint_paths(wc.model, wc.seed)),
        labels=lambda wc: labels(model=wc.model, seed=wc.seed),
    threads: config["train"]["threads"]
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent train --model {params.model:q} --seed {wildcards.seed} --data {params.data:q}"
        " --settings {params.settings:q} --state-dir {params.state:q}"
        " --checkpoints {params.checkpoints} --log {output.log:q} {params.labels}"
        " --threads {threads} > {log:q} 2>&1"


rule train_language:
    """Train one tiny GPT-NeoX from one seed on the generated corpus; a model folder per epoch
    (epoch0 = untrained), loadable like any Hugging Face model."""
    output:
        checkpoints=[directory(PATHS["lm_checkpoint"].replace("{epoch}", epoch_label(e)))
                     for e in LANGUAGE_EPOCHS],
        log=PATHS["train_log"],
    log:
        LOG["train"],
    wildcard_constraints:
        model=alternatives(PLAN.trained("language")),
    params:
        settings=as_json({k: v for k, v in config["language"].items() if k != "threads"}),
        state=PATHS["state"],
        labels=lambda wc: labels(model=wc.model, seed=wc.seed),
    threads: config["language"]["threads"]
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent train-language --seed {wildcards.seed} --settings {params.settings:q}"
        " --state-dir {params.state:q} --checkpoints {output.checkpoints:q}"
        " --log {output.log:q} {params.labels} --threads {threads} > {log:q} 2>&1"
