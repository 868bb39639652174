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
-- Which blend was chosen and why (issue 14); added in place so existing warehouses keep their history.
alter table mart.recommender_metrics
    add column if not exists blend double precision,
    add column if not exists neighbours integer,
    add column if not exists validation_ndcg_at_k double precision,
    add column if not exists is_served boolean not null default false,
    add column if not exists selection_reason text;
comment on column mart.recommender_metrics.model_run_id is 'Training run (the recommend_services run id).';
comment on column mart.recommender_metrics.trained_at is 'When the variants were evaluated.';
comment on column mart.recommender_metrics.variant is 'hybrid, collaborative, content or popularity.';
comment on column mart.recommender_metrics.k is 'Length of the evaluated top-k lists.';
comment on column mart.recommender_metrics.precision_at_k is 'Test split: hits in the top k / k, mean over clients with a held-out service.';
comment on column mart.recommender_metrics.recall_at_k is 'Test split: hits in the top k / held-out services, mean over clients.';
comment on column mart.recommender_metrics.map_at_k is 'Test split: mean average precision at k.';
comment on column mart.recommender_metrics.ndcg_at_k is 'Test split: NDCG at k with binary gains (the figure variants are compared on).';
comment on column mart.recommender_metrics.coverage is 'Share of the partner catalogue recommended to at least one evaluated client.';
comment on column mart.recommender_metrics.users_evaluated is 'Clients with at least one held-out service in the test split.';
comment on column mart.recommender_metrics.params is 'The run''s Params and data sizes (JSON).';
comment on column mart.recommender_metrics.blend is 'Weight of collaborative filtering in this variant''s score (1 collaborative, 0 content, empty popularity); for hybrid the blend tuned on the validation split.';
comment on column mart.recommender_metrics.neighbours is 'Neighbours used by collaborative filtering in this variant (tuned on the validation split; empty when not used).';
comment on column mart.recommender_metrics.validation_ndcg_at_k is 'NDCG at k on the validation split (carved out of the training part, never the test split) that chose the blend, neighbours and served variant.';
comment on column mart.recommender_metrics.is_served is 'True for the variant published to mart.recommendations by this run.';
comment on column mart.recommender_metrics.selection_reason is 'Why the served variant, blend and neighbours were chosen (same sentence on every row of the run).';

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
