# The two-point effective theory (shared/spec/theory.md): one job per run (a network trained and
# fitted), or per theory.runs_per_job runs of one experiment; one collecting job, one job per
# figure. `snakemake theory` builds only these.


if config["theory"]["runs_per_job"] == 1:

    rule theory_run:
        """Train one run of a theory experiment, record (h, y, w, loss), fit the rates."""
        output:
            trajectory=PATHS["theory_run"],
            fit=PATHS["theory_fit"],
        log:
            LOG["theory_run"],
        params:
            spec=theory_spec,
        threads: config["theory"]["threads"]
        priority: PRIORITY["theory"]
        conda:
            "../envs/convergent.yaml"
        shell:
            "convergent theory run --spec {params.spec:q} --trajectory {output.trajectory:q}"
            " --fit {output.fit:q} --threads {threads} > {log:q} 2>&1"

else:  # theory.runs_per_job runs of one experiment per job, one Python start-up for them

    for _batch in PLAN.theory_batches:
        _runs = theory_batch_runs(_batch)

        rule:
            """Train several runs of one theory experiment in turn, each recorded and fitted."""
            name:
                f"theory_run_{_batch}"
            output:
                [run[key] for run in _runs for key in ("trajectory", "fit")],
            log:
                LOG["theory_batch"].format(batch=_batch),
            params:
                runs=as_json(_runs),
            threads: config["theory"]["threads"]
            priority: PRIORITY["theory"]
            conda:
                "../envs/convergent.yaml"
            shell:
                "convergent theory run --runs {params.runs:q} --threads {threads}"
                " > {log:q} 2>&1"


rule theory_collect:
    """The theory tables and the required results, checked."""
    localrule: True
    input:
        trajectories=theory_run_paths("run"),
        fits=theory_run_paths("fit"),
    output:
        theory_table_paths(),
        report(PATHS["theory_summary"], caption="../report/theory_summary.rst",
               category="Theory"),
    log:
        LOG["theory_collect"],
    params:
        outputs=named_outputs(dict(zip(THEORY_TABLES, theory_table_paths()),
                                   summary=PATHS["theory_summary"])),
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent theory collect --trajectories {input.trajectories:q}"
        " --fits {input.fits:q} {params.outputs} > {log:q} 2>&1"


for _figure in PLAN.theory_figures:

    rule:
        name:
            f"figure_{_figure}"
        localrule: True
        input:
            theory_table_paths(),
        output:
            report(theory_figure_paths(_figure)[0], caption=f"../report/{_figure}.rst",
                   category="Theory"),
            theory_figure_paths(_figure)[1],
        log:
            LOG["theory_figure"].format(figure=_figure),
        params:
            name=_figure,
        conda:
            "../envs/convergent.yaml"
        shell:
            "convergent theory figure {params.name} --tables {input:q}"
            " --out {output:q} > {log:q} 2>&1"


rule theory:
    """Target: every theory table, the checked summary and the theory figures."""
    localrule: True
    input:
        theory_targets(),
