"""Where the numeric core runs: one torch device and dtype for a whole computation.

The same code runs on the CPU (float64 by default, the precision the metric contract is written
for) and on a CUDA GPU when one is present (float32 by default, for speed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class Backend:
    """A torch device and floating dtype."""

    device: torch.device
    dtype: torch.dtype

    def tensor(self, array) -> torch.Tensor:
        """Copy ``array`` (numpy, torch or nested lists) onto this backend."""
        if isinstance(array, torch.Tensor):
            return array.to(device=self.device, dtype=self.dtype)
        return torch.as_tensor(np.asarray(array), dtype=self.dtype, device=self.device)

    @property
    def eps(self) -> float:
        return torch.finfo(self.dtype).eps


def resolve_backend(device: str | torch.device | None = None, dtype: str | None = None) -> Backend:
    """Pick the device (``"auto"``/None: CUDA when available) and dtype (None: float64 on the CPU,
    float32 on a GPU)."""
    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if dtype is None:
        torch_dtype = torch.float64 if device.type == "cpu" else torch.float32
    elif dtype in _DTYPES:
        torch_dtype = _DTYPES[dtype]
    else:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    return Backend(device, torch_dtype)
