"""Staging cuts a file into slices of whole lines (warehouse.staging._line_slices): nothing lost, nothing
split mid-line, slices of about the limit, whatever the chunk sizes."""

from __future__ import annotations

import random

import pytest

from client_dwh.warehouse.staging import _line_slices


def _cut(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, at = [], 0
    for size in sizes:
        if at >= len(data):
            break
        chunks.append(data[at : at + size])
        at += size
    if at < len(data):
        chunks.append(data[at:])
    return chunks


@pytest.mark.parametrize("seed", range(30))
def test_slices_are_whole_lines_and_add_up_to_the_file(seed):
    rng = random.Random(seed)
    lines = [b"x" * rng.randint(0, 40) + b"\n" for _ in range(rng.randint(0, 60))]
    data = b"".join(lines) + (b"tail-without-newline" if seed % 3 == 0 else b"")
    chunks = _cut(data, [rng.randint(1, 50) for _ in range(400)])
    limit = rng.randint(1, 120)

    slices = [b"".join(s) for s in _line_slices(chunks, limit)]

    assert b"".join(slices) == data
    assert len(slices) >= 1
    for piece in slices[:-1]:
        assert piece.endswith(b"\n")  # cut only at a line end
        assert piece  # no empty slice before the last
        # at most one chunk beyond the limit, and the limit reached unless the stream ended
        assert len(piece) < limit + 50 + 41


def test_an_empty_file_is_one_empty_slice():
    assert [b"".join(s) for s in _line_slices([], 10)] == [b""]


def test_a_file_ending_exactly_at_a_cut_gives_no_empty_slice():
    assert [b"".join(s) for s in _line_slices([b"ab\n", b"cd\n"], 3)] == [b"ab\n", b"cd\n"]
