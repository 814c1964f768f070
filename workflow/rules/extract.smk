# One extract job covers several stimulus sets of one checkpoint: starting Python with torch and
# torchvision costs seconds, more than extracting one set of a small network.


rule extract_id:
    """Activations and accuracy of one checkpoint on the in-distribution test images."""
    input:
        checkpoint=PATHS["checkpoint"],
    output:
        activations=PATHS["activations"].replace("{stimset}", ID),
        accuracy=PATHS["accuracy"].replace("{stimset}", ID),
    log:
        LOG["extract"].replace("{stimset}", ID),
    params:
        out_dir=PATHS["epoch_dir"],
        data=as_json(config["data"]),
        stimuli=as_json(config["stimuli"]),
        labels=lambda wc: labels(model=wc.model, seed=wc.seed, epoch=wc.epoch),
    threads: 1
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent extract {input.checkpoint:q} --stimsets {ID} --data {params.data:q}"
        " --stimuli {params.stimuli:q} --out-dir {params.out_dir:q} {params.labels}"
        " --threads {threads} > {log:q} 2>&1"


rule extract_ood:
    """Activations and accuracy of one checkpoint on every configured OOD set."""
    input:
        checkpoint=PATHS["checkpoint"],
    output:
        activations=expand(PATHS["activations"], stimset=OOD, allow_missing=True),
        accuracy=expand(PATHS["accuracy"], stimset=OOD, allow_missing=True),
    log:
        LOG["extract"].replace("{stimset}", "ood"),
    params:
        out_dir=PATHS["epoch_dir"],
        stimsets=",".join(OOD),
        data=as_json(config["data"]),
        stimuli=as_json(config["stimuli"]),
        labels=lambda wc: labels(model=wc.model, seed=wc.seed, epoch=wc.epoch),
    threads: 1
    conda:
        "../envs/convergent.yaml"
    shell:
        "convergent extract {input.checkpoint:q} --stimsets {params.stimsets:q}"
        " --data {params.data:q} --stimuli {params.stimuli:q} --out-dir {params.out_dir:q}"
        " {params.labels} --threads {threads} > {log:q} 2>&1"
