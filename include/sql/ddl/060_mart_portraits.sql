-- Fuel-station clients mapped to predefined portraits (include/portraits.json).
create table if not exists mart.client_portraits (
    client_id          bigint  primary key,
    portrait_id        text    not null,
    portrait_name      text    not null,
    distance           double precision not null,
    confidence         double precision not null,
    second_portrait_id text,
    model_version      text    not null,
    catalogue_sha256   text    not null,
    features_hash      text    not null,
    mapped_at          timestamptz not null
);
comment on table mart.client_portraits is 'Each station client''s nearest portrait (or unassigned), with distance, confidence and the model version and portraits.json hash used.';

create table if not exists mart.portrait_distribution (
    portrait_id     text    primary key,
    portrait_name   text    not null,
    clients         integer not null,
    share_pct       numeric(5, 2) not null,
    avg_confidence  double precision,
    advice          text
);
comment on table mart.portrait_distribution is 'How many station clients fall into each portrait.';
