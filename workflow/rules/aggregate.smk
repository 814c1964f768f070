rule aggregate:
    """The tidy tables: alignment (one row per layer pair × metric × analysis), accuracy per
    stimulus set, accuracy over training, and the models compared."""
    input:
        alignment=jobs_paths("alignment", PLAN.align_tasks[TASK_COLUMNS].drop_duplicates()),
        accuracy=jobs_paths("accuracy", PLAN.extract_jobs),
        training=training_logs(),
    output:
        table_paths(),
    log:
        LOG["aggregate"],
    params:
        models=as_json(model_rows(MODELS)),
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent aggregate --alignment {input.alignment:q} --accuracy {input.accuracy:q}"
        " --training {input.training:q} --models {params.models:q} --out {output:q}"
        " > {log:q} 2>&1"


# One rule per figure the config's results can feed (PLAN.figures), each drawn from the
# tables alone, with its caption in workflow/report/<figure>.rst.
for _figure in PLAN.figures:

    rule:
        name:
            f"figure_{_figure}"
        localrule: True
        input:
            table_paths("parquet"),
        output:
            report(figure_paths(_figure)[0], caption=f"../report/{_figure}.rst",
                   category="Figures"),
            figure_paths(_figure)[1:],
        log:
            LOG["figure"].format(figure=_figure),
        params:
            name=_figure,
        conda:
            "../envs/convergent.yaml"
        shell:
            "convergent figure {params.name} --tables {input:q} --out {output:q}"
            " > {log:q} 2>&1"


rule summary:
    """The headline numbers per model and across models (summary.md and headlines.csv), and
    the figures left out with the reason."""
    localrule: True
    input:
        table_paths("parquet"),
    output:
        summary=report(PATHS["summary"], caption="../report/summary.rst", category="Summary"),
        headlines=PATHS["headlines"],
    log:
        LOG["summary"],
    params:
        left_out=" ".join(f"--left-out {shlex.quote(f'{k}={v}')}" for k, v in PLAN.left_out.items()),
        config=lambda wc: as_json(config),  # a function: the config holds {epoch} patterns
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent summary --tables {input:q} --out {output.summary:q}"
        " --headlines {output.headlines:q} {params.left_out}"
        " --config {params.config:q} > {log:q} 2>&1"
