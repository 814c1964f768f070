"""Activation files and atomic writes."""

import numpy as np
import pytest

from convergent.errors import InputError
from convergent.io import atomic_path, read_layers, write_layers


def test_layers_round_trip_in_network_order(tmp_path, rng):
    layers = {name: rng.standard_normal((7, 3)).astype(np.float32)
              for name in ("stem", "layer10", "layer2", "head")}
    ids = [f"img_{i}" for i in range(7)]
    write_layers(tmp_path / "acts.safetensors", layers, ids)
    back, back_ids = read_layers(tmp_path / "acts.safetensors")
    assert list(back) == list(layers) and back_ids == ids
    for name in layers:
        assert np.array_equal(back[name].numpy(), layers[name])


def test_atomic_path_leaves_nothing_when_the_block_fails(tmp_path):
    target = tmp_path / "sub" / "table.parquet"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_non_float_tensor_is_rejected(tmp_path):
    from safetensors.numpy import save_file

    save_file({"mask": np.ones((4, 2), dtype=bool)}, str(tmp_path / "m.safetensors"))
    with pytest.raises(InputError, match="m.safetensors:mask: expected a float tensor"):
        read_layers(tmp_path / "m.safetensors")
