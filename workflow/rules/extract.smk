# One extract job per checkpoint (extract.per: checkpoint, the default), for every image set read
# there: starting Python with torch and torchvision costs seconds, more than extracting one set of
# a small network. The checkpoints the OOD analysis reads take extract_ood (test images and OOD
# sets), the others extract_id; each rule's input function steers Snakemake to the right one
# (common.smk, checkpoint_input). With extract.per: network, one job per network (model and seed)
# extracts all of its checkpoints instead, one rule per network (its outputs are fixed lists);
# with extract.per: model, one job per model, all of its seeds.


if config["extract"]["per"] == "checkpoint":

    rule extract_id:
        """Activations and accuracy of one checkpoint on the in-distribution test images."""
        input:
            checkpoint_input(with_ood=False),
        output:
            activations=PATHS["activations"].replace("{stimset}", IMAGES),
            accuracy=PATHS["accuracy"].replace("{stimset}", IMAGES),
        log:
            LOG["extract"].replace("{stimset}", IMAGES),
        wildcard_constraints:
            model=alternatives(PLAN.of_modality("vision")),
        params:
            source=model_source,
            data=as_json(config["data"]),
            stimuli=as_json(config["stimuli"]),
            point=lambda wc: MODELS[wc.model]["point"],
            labels=lambda wc: labels(model=wc.model, seed=wc.seed, epoch=wc.epoch),
        threads: 1
        priority: PRIORITY["extract"]
        conda:
            "../envs/convergent.yaml"
        shell:
            "convergent extract --source {params.source:q} --stimsets {IMAGES} --data {params.data:q}"
            " --stimuli {params.stimuli:q} --activations {output.activations:q}"
            " --accuracy {output.accuracy:q} --point {params.point} {params.labels}"
            " --threads {threads} > {log:q} 2>&1"


    rule extract_ood:
        """Activations and accuracy of one checkpoint on the test images and every configured OOD
        set."""
        input:
            checkpoint_input(with_ood=True),
        output:
            activations=expand(PATHS["activations"], stimset=[IMAGES, *OOD], allow_missing=True),
            accuracy=expand(PATHS["accuracy"], stimset=[IMAGES, *OOD], allow_missing=True),
        log:
            LOG["extract"].replace("{stimset}", "ood"),
        wildcard_constraints:
            model=alternatives(PLAN.of_modality("vision")),
        params:
            source=model_source,
            stimsets=",".join([IMAGES, *OOD]),
            data=as_json(config["data"]),
            stimuli=as_json(config["stimuli"]),
            point=lambda wc: MODELS[wc.model]["point"],
            labels=lambda wc: labels(model=wc.model, seed=wc.seed, epoch=wc.epoch),
        threads: 1
        priority: PRIORITY["extract"]
        conda:
            "../envs/convergent.yaml"
        shell:
            "convergent extract --source {params.source:q} --stimsets {params.stimsets:q}"
            " --data {params.data:q} --stimuli {params.stimuli:q} --activations {output.activations:q}"
            " --accuracy {output.accuracy:q} --point {params.point} {params.labels} --threads {threads} > {log:q} 2>&1"


    rule extract_text:
        """Sentence representations (mean or last token after each block) of one language-model
        checkpoint, and its next-token loss and accuracy on the sentences."""
        input:
            model_input,
        output:
            activations=PATHS["activations"].replace("{stimset}", SENTENCES),
            accuracy=PATHS["accuracy"].replace("{stimset}", SENTENCES),
        log:
            LOG["extract"].replace("{stimset}", SENTENCES),
        wildcard_constraints:
            model=alternatives(PLAN.of_modality("language")),
        params:
            source=model_source,
            sentences=as_json(config["sentences"]),
            labels=lambda wc: labels(model=wc.model, seed=wc.seed, epoch=wc.epoch),
        threads: 1
        priority: PRIORITY["extract"]
        conda:
            "../envs/convergent.yaml"
        shell:
            "convergent extract-text --source {params.source:q} --sentences {params.sentences:q}"
            " --out {output.activations:q} --record {output.accuracy:q} {params.labels}"
            " --threads {threads} > {log:q} 2>&1"

else:
    for _name, _log, _model, _seeds in extract_groups("vision"):
        _points = extract_points(_model, _seeds)  # built once: inputs, outputs and params

        rule:
            name:
                _name
            """Activations and accuracy of every checkpoint of one vision network (or of every
            seed of one model) on every image set read there, in one process."""
            input:
                extract_inputs(_points),
            output:
                extract_outputs(_points),
            log:
                _log,
            params:
                points=json.dumps(_points),  # labels in order
                data=as_json(config["data"]),
                stimuli=as_json(config["stimuli"]),
                point=MODELS[_model]["point"],
            threads: 1
            priority: PRIORITY["extract"]
            resources:
                **EXTRACT_NETWORK_RESOURCES,
            conda:
                "../envs/convergent.yaml"
            shell:
                "convergent extract --points {params.points:q} --data {params.data:q}"
                " --stimuli {params.stimuli:q} --point {params.point} --threads {threads}"
                " > {log:q} 2>&1"

    for _name, _log, _model, _seeds in extract_groups("language"):
        _points = extract_points(_model, _seeds)  # built once: inputs, outputs and params

        rule:
            name:
                _name
            """Sentence representations and next-token scores of every checkpoint of one
            language network (or of every seed of one model), in one process."""
            input:
                extract_inputs(_points),
            output:
                extract_outputs(_points),
            log:
                _log,
            params:
                points=json.dumps(_points),  # labels in order
                sentences=as_json(config["sentences"]),
            threads: 1
            priority: PRIORITY["extract"]
            resources:
                **EXTRACT_NETWORK_RESOURCES,
            conda:
                "../envs/convergent.yaml"
            shell:
                "convergent extract-text --points {params.points:q}"
                " --sentences {params.sentences:q} --threads {threads} > {log:q} 2>&1"
