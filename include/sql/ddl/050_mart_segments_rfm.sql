-- Client segments by distinct bank products used, and RFM segments of online-retail customers.
create table if not exists mart.client_segments (
    client_id               bigint  primary key,
    client_name             text    not null,
    client_revenue          numeric(14, 2),
    usage_count             integer not null,
    client_segment          text    not null,
    last_product_usage_date date,
    products                text[]  not null,
    suggested_product       text,
    suggestion_reason       text
);
comment on table mart.client_segments is 'Bank clients by number of distinct products used: 1 продукт (churn risk), 2 продукта (cross-sell), 3+ продуктов (loyal).';
comment on column mart.client_segments.client_revenue is 'Client income per month (RUB), as in the seed project.';
comment on column mart.client_segments.usage_count is 'Distinct products the client used (not usage events).';
comment on column mart.client_segments.suggested_product is 'Most popular product in the client''s segment that the client does not hold yet.';

create table if not exists mart.segment_top_products (
    client_segment  text    not null,
    product_rank    integer not null,
    product_id      text    not null,
    product_name    text    not null,
    clients         integer not null,
    share_pct       numeric(5, 2) not null,
    primary key (client_segment, product_rank)
);
comment on table mart.segment_top_products is 'Products ranked by how many clients of each segment hold them.';

create table if not exists mart.rfm (
    source          text    not null,
    customer_id     text    not null,
    country         text,
    as_of_date      date    not null,
    last_purchase   date    not null,
    recency_days    integer not null,
    frequency       integer not null,
    monetary        numeric(16, 2) not null,
    r_score         smallint not null,
    f_score         smallint not null,
    m_score         smallint not null,
    rfm_code        text    not null,
    segment         text    not null,
    primary key (source, customer_id)
);
comment on table mart.rfm is 'Recency, frequency (distinct invoices, cancellations excluded) and monetary value per customer, quintile scores and the R/F segment.';

create table if not exists mart.rfm_segments (
    source          text    not null,
    segment         text    not null,
    customers       integer not null,
    share_pct       numeric(5, 2) not null,
    avg_recency     numeric(10, 1) not null,
    avg_frequency   numeric(10, 2) not null,
    avg_monetary    numeric(16, 2) not null,
    total_monetary  numeric(18, 2) not null,
    primary key (source, segment)
);
comment on table mart.rfm_segments is 'One row per RFM segment: size and average R, F, M.';

create table if not exists mart.rfm_settings (
    source                   text    not null primary key,
    as_of_date               date    not null,
    exclude_duplicate_lines  boolean not null,
    duplicate_lines          bigint  not null,
    duplicate_lines_excluded bigint  not null,
    lines_counted            bigint  not null
);
comment on table mart.rfm_settings is 'How mart.rfm was computed per source: whether exact-duplicate export lines were excluded (the rfm_exclude_duplicate_lines Param; off by default, as the RFM specification counts every valid line), how many such lines there are, how many were left out, and how many lines counted.';
comment on column mart.rfm_settings.duplicate_lines is 'Lines that repeat an earlier line of the same export field for field (core.retail_lines rfm_exclusion_reason = ''duplicate line'').';

-- One definition of each segment rule, shared by the marts and their checks.
create or replace function meta.product_segment(usage_count integer) returns text
language sql immutable parallel safe as $$
    select case when usage_count = 1 then '1 продукт' when usage_count = 2 then '2 продукта'
                when usage_count >= 3 then '3+ продуктов' end
$$;

-- The widely used R/F segment map (the regex map on the R and F scores, e.g. '[1-2][1-2]' ->
-- hibernating), spelled out as ranges; it covers all 25 (R, F) pairs:
--   R 1-2: F 1-2 hibernating,    F 3-4 at risk,             F 5   can't lose them
--   R 3:   F 1-2 about to sleep, F 3   need attention,      F 4-5 loyal customers
--   R 4:   F 1   promising,      F 2-3 potential loyalists, F 4-5 loyal customers
--   R 5:   F 1   new customers,  F 2-3 potential loyalists, F 4-5 champions
create or replace function meta.rfm_segment(r_score integer, f_score integer) returns text
language sql immutable parallel safe as $$
    select case
        when r_score <= 2 and f_score <= 2 then 'hibernating'
        when r_score <= 2 and f_score <= 4 then 'at risk'
        when r_score <= 2 then 'can''t lose them'
        when r_score = 3 and f_score <= 2 then 'about to sleep'
        when r_score = 3 and f_score = 3 then 'need attention'
        when r_score <= 4 and f_score >= 4 then 'loyal customers'
        when r_score = 4 and f_score = 1 then 'promising'
        when r_score = 5 and f_score = 1 then 'new customers'
        when f_score <= 3 then 'potential loyalists'
        else 'champions'
    end
$$;
