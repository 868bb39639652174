-- Schemas of the warehouse's layers and the bookkeeping the pipeline needs. Idempotent.
create schema if not exists staging;
create schema if not exists core;
create schema if not exists mart;
create schema if not exists mart_next;  -- the next version of each mart, built and checked before the swap
create schema if not exists meta;

-- One row per landed part that has been loaded; re-loading a registered part is a no-op.
create table if not exists meta.partitions (
    batch_id          text        not null,
    part_no           integer     not null,
    manifest_sha256   text        not null,
    rows_read         bigint      not null,
    rows_staged       bigint      not null,
    rows_unchanged    bigint      not null,
    rows_quarantined  bigint      not null,
    loaded_at         timestamptz not null default now(),
    loaded_by_run     text,
    core_built_at     timestamptz,
    core_built_by_run text,
    primary key (batch_id, part_no)
);
comment on table meta.partitions is 'Parts loaded into staging (and later built into core): the idempotency registry.';

-- One row per landed file loaded into staging (each file of a part in its own transaction, one entity at
-- a time): a file recorded with the same sha256 is not loaded again; with another sha256 it is refused.
-- The part gets its meta.partitions row (its totals) only once every file of its manifest is here.
create table if not exists meta.part_files (
    batch_id          text        not null,
    part_no           integer     not null,
    entity            text        not null,
    file_sha256       text        not null,
    rows_read         bigint      not null,
    rows_staged       bigint      not null,
    rows_unchanged    bigint      not null,
    rows_quarantined  bigint      not null,
    loaded_at         timestamptz not null default now(),
    loaded_by_run     text,
    primary key (batch_id, part_no, entity)
);
comment on table meta.part_files is 'Files of landed parts loaded into staging, per part and entity: sha256 and counts.';

-- One row per entity of a part applied to core, written in the transaction that applies it (entities of a
-- part commit one by one, independent ones at once): a re-run of a stopped build applies only the rest.
-- The part is built (meta.partitions.core_built_at) once every entity is here.
create table if not exists meta.core_entities (
    batch_id          text        not null,
    part_no           integer     not null,
    entity            text        not null,
    rows_staged       bigint      not null,
    rows_quarantined  bigint      not null,
    built_at          timestamptz not null default now(),
    built_by_run      text,
    primary key (batch_id, part_no, entity),
    foreign key (batch_id, part_no) references meta.partitions (batch_id, part_no) on delete cascade
);
comment on table meta.core_entities is 'Entities of staged parts applied to core, per part and entity: rows staged and quarantined.';

-- What each step after core has processed, per part: a step claims the core-built parts when it starts
-- reading core and marks them done when it publishes. A part is processed when core and every step are.
create table if not exists meta.part_steps (
    batch_id       text        not null,
    part_no        integer     not null,
    step           text        not null check (step in ('marts', 'portraits', 'recommendations')),
    claimed_by_run text,
    claimed_at     timestamptz not null,
    done_at        timestamptz,
    done_by_run    text,
    primary key (batch_id, part_no, step),
    foreign key (batch_id, part_no) references meta.partitions (batch_id, part_no) on delete cascade
);
comment on table meta.part_steps is 'Per part and step after core (marts, portraits, recommendations): claimed by which run, done when.';

-- Every record that did not make it into a layer, with the reason: nothing is dropped silently.
create table if not exists meta.quarantine (
    quarantine_id  bigint generated always as identity primary key,
    layer          text        not null,  -- staging | core
    entity         text        not null,
    batch_id       text        not null,
    part_no        integer     not null,
    source_file    text        not null,
    line_no        bigint      not null,
    reason         text        not null,
    raw            text,
    quarantined_at timestamptz not null default now(),
    unique (layer, entity, batch_id, part_no, line_no)
);
comment on table meta.quarantine is 'Rejected input records with file, line and reason.';

-- When each mart was last published, and from which run and part.
create table if not exists meta.mart_refresh (
    mart          text primary key,
    refreshed_at  timestamptz not null,
    dag_run_id    text,
    last_batch_id text,
    last_part_no  integer,
    row_count     bigint
);

-- Casts that return null instead of failing (meta.try_jsonb, try_date, try_timestamp, try_numeric,
-- try_bigint), on PostgreSQL 15 (no pg_input_is_valid: an exception block) and, faster, on 16 and later.
-- Labels: STABLE on both (date and timestamp input read DateStyle, so IMMUTABLE would be wrong). On 15
-- PARALLEL UNSAFE: an exception block starts a subtransaction, which PostgreSQL 15 refuses during a
-- parallel operation ("cannot start subtransactions during a parallel operation") - in a worker and in
-- the leader alike, so PARALLEL RESTRICTED fails too; a query calling them is then planned serially.
-- tests/integration/test_parallel_plans_pg15.py runs the pipeline with parallel plans forced on 15.
do $$
declare
    target text;
begin
    foreach target in array array['jsonb', 'date', 'timestamp', 'numeric', 'bigint'] loop
        -- STABLE like pg_input_is_valid, so the planner inlines it into the calling query (fast). An
        -- IMMUTABLE one would run as a separate plan whose constant-folded cast fails before the check.
        if current_setting('server_version_num')::int >= 160000 then
            execute format('drop function if exists meta.try_%s(text)', target);
            execute format(
                'create function meta.try_%1$s(value text) returns %1$s language sql stable '
                'parallel safe as %2$L', target,
                format('select case when pg_input_is_valid(value, %L) then value::%s end', target, target));
        else
            execute format(
                'create or replace function meta.try_%1$s(value text) returns %1$s language plpgsql stable '
                'parallel unsafe as %2$L', target,
                format('begin return value::%s; exception when others then return null; end', target));
        end if;
    end loop;
end
$$;

-- The one check of an integer id in a JSON record (meta.try_id): a plain integer of at most 15 digits
-- (a trailing ".0" allowed) as a bigint, else null - so an id too big for bigint, a fraction or an
-- exponent is quarantined with its reason instead of failing the part at a cast. Plain SQL (no exception
-- block), so it is inlined and safe in parallel plans on every version.
create or replace function meta.try_id(value text) returns bigint language sql stable parallel safe as $$
    select case when value ~ '^\s*[+-]?[0-9]{1,15}(\.0*)?\s*$' then trunc(value::numeric)::bigint end
$$;

-- The staging load's quick form (staging/load_entity_file.sql) calls this on the first line that is not a
-- JSON object with its required fields: the statement fails (SQLSTATE 22000) and the careful form, which
-- quarantines each bad line with its reason, runs instead. Volatile, so it is never folded into the plan.
create or replace function meta.refuse_line(line_no bigint) returns boolean language plpgsql volatile as $$
begin
    raise exception 'line % is not a JSON object with its required fields', line_no using errcode = 'data_exception';
end
$$;

-- Work table of flag_overdue_instalments (core/loan_month_flows.sql): each loan's amounts due and paid by
-- each of the last 13 month ends, computed on a second connection while the flags are written, then read
-- by core/loan_month_states.sql. Unlogged and rewritten whole by every flag run: nothing reads it after.
create unlogged table if not exists meta.loan_month_flows (
    loan_id      text           not null,
    month        date           not null,
    at_date      date           not null,
    due_by_then  numeric        not null,
    paid_by_then numeric        not null,
    total_due    numeric        not null
);
-- Written range of loans by range of loans (core.py's _loan_ranges), read back the same way: a block-range
-- index finds a range's rows at next to no cost per written row.
create index if not exists loan_month_flows_loan_brin on meta.loan_month_flows using brin (loan_id);
comment on table meta.loan_month_flows is 'Work table of the overdue-flag step (amounts due and paid per loan by each of the last 13 month ends); rewritten by every run, not for reading.';
