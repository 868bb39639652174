"""Peak resident memory of a benchmark stage: this process, and the PostgreSQL backends it talks to.

A background thread samples RSS (psutil) every ``interval`` seconds while the stage runs, because
``getrusage``'s ``ru_maxrss`` only ever grows over the life of the process and cannot tell stages apart.
The server side is measured only when the warehouse runs on this machine: the largest RSS of any
``postgres`` backend process serving ``database`` (shared buffers touched count in, as ``ps`` shows them).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

MIB = 1024 * 1024


@dataclass
class PeakRss:
    database: str | None = None
    interval: float = 0.2
    process_bytes: int = 0  # this process and its children together
    largest_bytes: int = 0  # the largest single one of them (the "every process under N GiB" figure)
    backend_bytes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> PeakRss:
        import psutil

        self._me = psutil.Process()
        self._stop.clear()
        self._sample()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        import psutil

        sizes = [self._me.memory_info().rss]
        for child in self._me.children(recursive=True):
            try:
                sizes.append(child.memory_info().rss)
            except psutil.NoSuchProcess:  # a pool worker that just exited
                continue
        self.process_bytes = max(self.process_bytes, sum(sizes))
        self.largest_bytes = max(self.largest_bytes, max(sizes))
        if not self.database:
            return
        for proc in psutil.process_iter(["name", "cmdline", "memory_info"]):
            try:
                cmdline = " ".join(proc.info["cmdline"] or [])
                if cmdline.startswith("postgres: ") and f" {self.database} " in f"{cmdline} ":
                    self.backend_bytes = max(self.backend_bytes, proc.info["memory_info"].rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied, TypeError):
                continue

    def as_dict(self) -> dict[str, float]:
        return {
            "peak_rss_mib": round(self.process_bytes / MIB, 1),
            "peak_largest_process_mib": round(self.largest_bytes / MIB, 1),
            "peak_backend_rss_mib": round(self.backend_bytes / MIB, 1) if self.database else None,
        }
