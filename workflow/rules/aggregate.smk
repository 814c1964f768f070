rule aggregate:
    """The tidy tables: alignment (one row per layer pair × metric × analysis), accuracy per
    stimulus set, and accuracy over training."""
    input:
        alignment=expand(PATHS["alignment"], zip, **ALIGN_JOBS.astype(str).to_dict("list")),
        accuracy=expand(PATHS["accuracy"], zip, **EXTRACT_JOBS.astype(str).to_dict("list")),
        training=training_logs(),
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


# One rule per figure the config's results can feed (common.smk: FIGURES), each drawn from the
# tables alone, with its caption in workflow/report/<figure>.rst.
for _figure in FIGURES:

    rule:
        name:
            f"figure_{_figure}"
        localrule: True
        input:
            table_paths("parquet"),
        output:
            report(figure_paths(_figure)[0], caption=f"../report/{_figure}.rst",
                   category="Figures"),
            figure_paths(_figure)[1],
        log:
            LOG["figure"].format(figure=_figure),
        params:
            name=_figure,
            tables=f"{RESULTS}/tables",
        conda:
            "../envs/convergent.yaml"
        shell:
            "convergent figure {params.name} --tables {params.tables:q} --out {output:q}"
            " > {log:q} 2>&1"


rule summary:
    """The headline numbers, and the figures left out with the reason."""
    localrule: True
    input:
        table_paths("parquet"),
    output:
        report(PATHS["summary"], caption="../report/summary.rst", category="Summary"),
    log:
        LOG["summary"],
    params:
        tables=f"{RESULTS}/tables",
        left_out=" ".join(f"--left-out {shlex.quote(f'{k}={v}')}" for k, v in LEFT_OUT.items()),
        config=lambda wc: as_json(config),  # a function: the config holds {epoch} patterns
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent summary --tables {params.tables:q} --out {output:q} {params.left_out}"
        " --config {params.config:q} > {log:q} 2>&1"
