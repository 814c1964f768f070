rule aggregate:
    """The tidy tables: alignment (one row per layer pair × metric × analysis), accuracy per
    stimulus set, and accuracy over training."""
    input:
        alignment=expand(PATHS["alignment"], zip, **ALIGN_JOBS.astype(str).to_dict("list")),
        accuracy=expand(PATHS["accuracy"], zip, **EXTRACT_JOBS.astype(str).to_dict("list")),
        training=expand(PATHS["train_log"], model=list(MODELS), seed=SEEDS),
    output:
        table_paths("parquet") + table_paths("csv"),
    log:
        LOG["aggregate"],
    params:
        out_dir=f"{RESULTS}/tables",
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent aggregate --alignment {input.alignment:q} --accuracy {input.accuracy:q}"
        " --training {input.training:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule depth_profile:
    """Score vs normalised depth across seeds, trained and untrained."""
    input:
        PATHS["table"].format(table="alignment", ext="parquet"),
    output:
        report(PATHS["figure"].format(figure="depth_profile", ext="png"),
               caption="../report/depth_profile.rst", category="Depth"),
        PATHS["figure"].format(figure="depth_profile", ext="svg"),
    log:
        LOG["figure"].format(figure="depth_profile"),
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent figure depth-profile --alignment {input:q} --out {output:q} > {log:q} 2>&1"
