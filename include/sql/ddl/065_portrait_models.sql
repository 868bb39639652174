-- Portrait-mapping models (threshold and the catalogue's fixed scale, saved with the version), newest last. The mapping
-- reuses the newest one while model version, portraits.json and threshold are unchanged. Idempotent.
create table if not exists meta.portrait_models (
    model_id          bigint generated always as identity primary key,
    model_version     text             not null,
    catalogue_sha256  text             not null,
    threshold         double precision not null,
    scaler            jsonb            not null,  -- PortraitMapper.to_dict(): per-feature scale, features
    n_clients         integer          not null,
    fitted_at         timestamptz      not null default now(),
    fitted_by_run     text
);
comment on table meta.portrait_models is 'Each fit of the portrait mapper: model version, portraits.json sha256, threshold and the per-feature scale (the catalogue spreads it was built with; JSON, no pickles).';
