-- The recommender's training snapshot per model run, shared by the recommend_services tasks through the
-- warehouse (not local disk), so every task of a run trains on the same data. Idempotent.
create table if not exists meta.recommender_runs (
    model_run_id  text primary key,
    dag_run_id    text,
    created_at    timestamptz not null default now(),
    clients       integer not null,
    services      integer not null,
    pairs         integer not null,
    events        bigint  not null
);
comment on table meta.recommender_runs is 'One row per recommender training snapshot; only the latest few are kept.';

create table if not exists meta.recommender_training_clients (
    model_run_id  text   not null references meta.recommender_runs on delete cascade,
    client_id     bigint not null,
    segment       text   not null,
    primary key (model_run_id, client_id)
);

create table if not exists meta.recommender_training_pairs (
    model_run_id      text   not null references meta.recommender_runs on delete cascade,
    client_id         bigint not null,
    service_id        text   not null,
    weight            double precision not null,  -- sum of event weights (view 1, purchase 3)
    events            integer not null,
    last_interacted_at timestamp not null,
    primary key (model_run_id, client_id, service_id)
);
