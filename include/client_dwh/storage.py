"""Every file a task reads or writes, local or on object storage, through ``ObjectStoragePath``.

A URL (``s3://bucket/key``, ``file:///abs``) or a local path goes in; the configured connection
(``LANDING_CONN_ID``) is attached for remote protocols, so credentials come from Airflow's connection, not
from the URL. What is stored or shown (``meta.partitions``, ``source_file``, XCom, logs) is the plain URL
from ``url_of``: never ``s3://<conn_id>@bucket/...``, so the same part reads the same whichever
connection reaches it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from client_dwh import config

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

LOCAL_PROTOCOLS = ("file", "local")
COPY_CHUNK = 8 * 1024 * 1024


def storage_path(url: str | Path, conn_id: str | None = None) -> ObjectStoragePath:
    """``url`` as an ObjectStoragePath; remote protocols get ``conn_id`` (default: LANDING_CONN_ID)."""
    from airflow.sdk import ObjectStoragePath

    url = str(url)
    if "://" not in url:
        url = "file://" + str(Path(url).expanduser().resolve())
    protocol = url.split("://", 1)[0]
    if protocol in LOCAL_PROTOCOLS:
        return ObjectStoragePath(url)
    # a connection named in the URL itself (s3://conn@bucket/...) wins, as ObjectStoragePath does
    return ObjectStoragePath(url, conn_id=conn_id or config.LANDING_CONN_ID)


def url_of(path: ObjectStoragePath) -> str:
    """The URL of ``path`` without the connection id: ``s3://bucket/key``, ``file:///abs/path``."""
    if path.protocol in LOCAL_PROTOCOLS:
        return "file://" + ("/" + path.path.lstrip("/"))
    return f"{path.protocol}://{path.path}"


def is_local(url: str | Path) -> bool:
    url = str(url)
    return "://" not in url or url.split("://", 1)[0] in LOCAL_PROTOCOLS


@contextlib.contextmanager
def local_copy(path: ObjectStoragePath) -> Iterator[Path]:
    """A local file with ``path``'s bytes (the file itself when it is local), for readers that need one.

    Remote files are streamed to a temporary file in chunks, never held in memory whole.
    """
    if path.protocol in LOCAL_PROTOCOLS:
        yield Path("/" + path.path.lstrip("/"))
        return
    with tempfile.TemporaryDirectory(prefix="client_dwh_") as folder:
        local = Path(folder) / path.name
        with path.open("rb") as source, local.open("wb") as target:
            shutil.copyfileobj(source, target, COPY_CHUNK)
        yield local
