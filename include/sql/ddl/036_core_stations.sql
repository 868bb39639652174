-- Fuel-station clients (bank clients with a loyalty card), their visits, and the behavioural features
-- the portrait mapping reads, derived from the visits in SQL. Idempotent.
create table if not exists core.station_clients (
    client_id        bigint primary key,  -- the bank client's id
    home_station_id  integer,
    distance_km      numeric(8, 2) not null,
    card_issued_at   date,
    batch_id         text        not null,
    part_no          integer     not null,
    updated_at       timestamptz not null default now()
);
comment on table core.station_clients is 'Bank clients who are fuel-station clients: static attributes (home station, distance from home).';

create table if not exists core.station_visits (
    visit_id       bigint primary key,
    client_id      bigint        not null,
    station_id     integer,
    visited_at     timestamp     not null,  -- station local time
    amount         numeric(12, 2) not null,
    fuel_grade     text,
    bought_coffee  boolean       not null,
    paid_with_app  boolean       not null,
    batch_id       text          not null,
    part_no        integer       not null,
    updated_at     timestamptz   not null default now()
);
create index if not exists station_visits_client_idx on core.station_visits (client_id, visited_at);
create index if not exists station_visits_visited_at_idx on core.station_visits (visited_at);
comment on table core.station_visits is 'Individual fuel-station visits: amount, fuel grade, coffee, app payment.';

-- One row per station client whose bank client is current: the portrait features of include/portraits.json.
-- Behaviour counts over the 30 days before the day after the last visit on record (the source system exports
-- one month of visits); the definitions match portraits.generate.features_from_visits: night is
-- 22:00-05:59, premium fuel is AI-100, age in whole years at the end of that window. features_hash changes
-- exactly when a client's feature values change, so the mapping re-maps only those clients.
create or replace view core.station_client_features as
with visit_window as (
    select max(visited_at)::date + 1 as window_end from core.station_visits
), behaviour as (
    select v.client_id,
           count(*)                                                               as visits,
           avg(v.amount)                                                          as avg_check,
           avg(v.paid_with_app::int)                                              as uses_app,
           avg(v.bought_coffee::int)                                              as prefers_coffee,
           avg((extract(hour from v.visited_at) >= 22 or extract(hour from v.visited_at) < 6)::int)
                                                                                  as night_share,
           avg((v.fuel_grade = 'AI-100')::int)                                    as premium_fuel_share
    from core.station_visits as v
    cross join visit_window as w
    where v.visited_at >= w.window_end - 30 and v.visited_at < w.window_end
    group by v.client_id
), features as (
    select sc.client_id,
           extract(year from age(w.window_end, c.birth_date))::integer as age,
           round(coalesce(b.avg_check, 0), 2)::double precision          as avg_check,
           coalesce(b.visits, 0)::double precision                       as visits_per_month,
           sc.distance_km::double precision                              as distance_km,
           round(coalesce(b.uses_app, 0), 3)::double precision           as uses_app,
           round(coalesce(b.prefers_coffee, 0), 3)::double precision     as prefers_coffee,
           round(coalesce(b.night_share, 0), 3)::double precision        as night_share,
           round(coalesce(b.premium_fuel_share, 0), 3)::double precision as premium_fuel_share,
           w.window_end                                                  as features_as_of
    from core.station_clients as sc
    join core.clients as c on c.client_id = sc.client_id and c.is_current
    cross join visit_window as w
    left join behaviour as b on b.client_id = sc.client_id
)
select f.*,
       md5(concat_ws('|', f.age, f.avg_check, f.visits_per_month, f.distance_km, f.uses_app, f.prefers_coffee,
                     f.night_share, f.premium_fuel_share)) as features_hash
from features as f;
comment on view core.station_client_features is 'Portrait features per station client, derived from core.station_visits (last 30 days) and core.clients (age).';
