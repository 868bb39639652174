-- Raw landing records, one table per source entity: the record as it came, where and when it came from.
-- A row is unique per natural key and content, so a cumulative part that repeats old rows adds nothing.
{% for entity in entities %}
create table if not exists {{ entity.staging_table }} (
    natural_key  text        not null,
    record_hash  text        not null,
    record       jsonb       not null,
    batch_id     text        not null,
    part_no      integer     not null,
    source_file  text        not null,
    line_no      bigint      not null,
    loaded_at    timestamptz not null default now(),
    primary key (natural_key, record_hash)
);
-- A part's rows are appended together, so a block-range index finds them (core reads one part at a time)
-- at a fraction of a b-tree's cost per loaded row; warehouses created before it drop their b-tree.
drop index if exists staging.{{ entity.name }}_part_idx;
create index if not exists {{ entity.name }}_part_brin on {{ entity.staging_table }} using brin (batch_id, part_no);
comment on table {{ entity.staging_table }} is 'Raw {{ entity.name }} records as landed (key: {{ entity.key | join(", ") }}).';
{% endfor %}
