"""How a chunk of the synthetic population numbers its rows, so that chunks generated apart never share an id."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IdStride:
    """Chunk ``chunk`` of ``chunks`` takes every ``chunks``-th number of a sequence, from its own offset.

    Its rows are numbered ``first + chunk``, ``first + chunk + chunks``, ... : ids stay unique across
    chunks without any chunk waiting for another's row count (chunks are generated independently, in
    parallel), and a single chunk numbers ``first, first + 1, ...`` as a whole population always did.
    """

    chunk: int = 0
    chunks: int = 1

    def ids(self, first: int, count: int, start: int = 0) -> np.ndarray:
        """The ids of the chunk's rows ``start .. start + count - 1`` of a sequence that begins at ``first``."""
        return first + self.chunk + self.chunks * np.arange(start, start + count, dtype=np.int64)


WHOLE = IdStride()
