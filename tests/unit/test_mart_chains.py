"""build_marts builds independent marts on two connections: a mart that reads another mart of its group
must be built after it, on the same connection (the other's rows are not committed yet)."""

from __future__ import annotations

from client_dwh import config
from client_dwh.warehouse.marts import LOAN_MARTS, MartGroup, chains


def test_a_mart_reading_another_is_chained_after_it(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "SQL_DIR", tmp_path)
    sql = {
        "a": "insert into {{ target }}.a select 1",
        "ab": "insert into {{ target }}.ab select 2",  # its name starts with "a": no false match
        "b": "insert into {{ target }}.b select * from {{ target }}.a",
        "c": "insert into {{ target }}.c select 3",
        "d": "insert into {{ target }}.d select * from {{ target }}.c join {{ target }}.ab using (x)",
    }
    for name, text in sql.items():
        (tmp_path / f"{name}.sql").write_text(text)
    group = MartGroup("test", {name: f"{name}.sql" for name in sql} | {"filled_by_caller": None}, "x.sql")
    assert chains(group) == [["a", "b"], ["ab", "c", "d"], ["filled_by_caller"]]


def test_the_loan_marts_chain_each_summary_after_what_it_summarises():
    built = chains(LOAN_MARTS)
    assert sorted(t for chain in built for t in chain) == sorted(LOAN_MARTS.tables)  # each table once
    assert ["segment_top_products", "client_segments"] in built
    assert ["rfm", "rfm_segments"] in built
    assert len(built) >= 2  # something to build at the same time
