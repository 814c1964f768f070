# One rule per vision model trained here: a rule's outputs cannot vary with a wildcard, and each
# model keeps the checkpoints of its own recipe (models.<name>.train), so every kept checkpoint
# is a declared output: a deleted one is retrained, and extraction sizes itself by it.
for _model in PLAN.trained("vision"):

    rule:
        name:
            train_rule(_model)
        """Train one vision model from one seed (supervised or MoCo) with its own settings; a
        checkpoint per kept epoch of its axis (epoch0 = untrained)."""
        output:
            checkpoints=checkpoint_paths(_model),
            log=PATHS["train_log"].replace("{model}", _model),
        log:
            LOG["train"].replace("{model}", _model),
        params:
            model=as_json({k: MODELS[_model][k] for k in ("arch", "width", "small_input")}),
            data=as_json(config["data"]),
            settings=as_json({**{k: v for k, v in MODELS[_model]["train"].items()
                                 if k != "threads"},
                              "objective": MODELS[_model]["objective"]}),
            state=PATHS["state"].replace("{model}", _model),
            labels=lambda wc, model=_model: labels(model=model, seed=wc.seed),
        threads: config["train"]["threads"]
        priority: PRIORITY["train"]
        resources:
            **TRAIN_RESOURCES,
        conda:
            "../envs/convergent.yaml"
        shell:
            "convergent train --model {params.model:q} --seed {wildcards.seed}"
            " --data {params.data:q} --settings {params.settings:q}"
            " --state-dir {params.state:q} --checkpoints {output.checkpoints:q}"
            " --log {output.log:q} {params.labels} --threads {threads} > {log:q} 2>&1"


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
    priority: PRIORITY["train"]
    resources:
        **TRAIN_RESOURCES,
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent train-language --seed {wildcards.seed} --settings {params.settings:q}"
        " --state-dir {params.state:q} --checkpoints {output.checkpoints:q}"
        " --log {output.log:q} {params.labels} --threads {threads} > {log:q} 2>&1"
