"""make bench's peak-memory probe sees a stage's transient allocation, not only what is left at its end."""

from client_dwh.devtools.bench.memory import MIB, PeakRss


def test_peak_rss_catches_memory_freed_before_the_stage_ends():
    with PeakRss(interval=0.02) as before:
        pass
    with PeakRss(interval=0.02) as stage:
        block = bytearray(300 * MIB)  # touched (zeroed), so resident
        block[::4096] = b"x" * len(block[::4096])
        import time

        time.sleep(0.2)
        del block
    assert stage.process_bytes - before.process_bytes >= 250 * MIB
    assert stage.as_dict()["peak_backend_rss_mib"] is None  # no database named: server side not sampled
