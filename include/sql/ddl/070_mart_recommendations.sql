-- Partner-service recommendations, offline metrics per training run and the A/B comparison.
create table if not exists mart.recommendations (
    client_id     bigint  not null,
    service_id    text    not null,
    partner_name  text    not null,
    service_name  text    not null,
    score         double precision not null,
    rank          integer not null,
    reason        text    not null,
    variant       text    not null,
    model_run_id  text    not null,
    primary key (client_id, rank)
);
comment on table mart.recommendations is 'Top-k partner services per client from the winning model variant.';

create table if not exists mart.recommender_metrics (
    model_run_id  text    not null,
    trained_at    timestamptz not null,
    variant       text    not null,
    k             integer not null,
    precision_at_k double precision not null,
    recall_at_k    double precision not null,
    map_at_k       double precision not null,
    ndcg_at_k      double precision not null,
    coverage       double precision not null,
    users_evaluated integer not null,
    params        jsonb   not null,
    primary key (model_run_id, variant)
);
comment on table mart.recommender_metrics is 'Offline evaluation on a held-out split, one row per training run and variant (history kept).';

create table if not exists mart.ab_test_results (
    model_run_id    text    not null,
    experiment      text    not null,
    variant         text    not null,
    model_variant   text    not null,
    clients         integer not null,
    responses       integer not null,
    conversion_pct  double precision not null,
    uplift_pct_points double precision,
    ci_low_pct_points  double precision,
    ci_high_pct_points double precision,
    p_value         double precision,
    primary key (model_run_id, experiment, variant)
);
comment on table mart.ab_test_results is 'Simulated A/B responses per variant; uplift of B over A with a 95 % confidence interval.';
