"""Embedding-table presets: torch.nn.Embedding's, torchrec's and DLRM's defaults."""
from __future__ import annotations

import math

import numpy as np

from .. import _validate as check
from .. import kernels
from .._plans import Marks, Plan
from ._declare import scheme


@scheme("torch_embedding", random=True)
def torch_embedding(shape, fmt, padding_idx: int | None = None) -> Plan:
    """N(0, 1), torch.nn.Embedding.reset_parameters' default; the padding_idx row (if any) is zero."""
    values = kernels.normal(shape, fmt)
    if padding_idx is None:
        return values
    if len(shape) != 2:
        raise ValueError(f"padding_idx is a row of a 2-D (num_embeddings, embedding_dim) table, as "
                         f"torch.nn.Embedding's weight; got shape {shape}")
    row = check.integer("padding_idx", padding_idx, -shape[0], shape[0]) % shape[0]
    return Plan(values.base, Marks(np.arange(row * shape[1], (row + 1) * shape[1]), 0.0))


def _rows_uniform(shape, fmt) -> Plan:
    if len(shape) != 2 or shape[0] == 0:
        raise ValueError(f"embedding tables are 2-D (num_rows, dim) with num_rows > 0; got shape {shape}")
    bound = math.sqrt(1.0 / shape[0])
    return kernels.uniform(shape, fmt, -bound, bound)


@scheme("torchrec_embedding", random=True)
def torchrec_embedding(shape, fmt) -> Plan:
    """U(±sqrt(1 / num_embeddings)): torchrec BaseEmbeddingConfig.get_weight_init_max/min defaults
    (torchrec/modules/embedding_configs.py), num_embeddings being the table's row count."""
    return _rows_uniform(shape, fmt)


@scheme("dlrm_embedding", random=True)
def dlrm_embedding(shape, fmt) -> Plan:
    """U(±sqrt(1 / num_rows)): DLRM's reference create_emb (Naumov et al. 2019, dlrm_s_pytorch.py)."""
    return _rows_uniform(shape, fmt)
