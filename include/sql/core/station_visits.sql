-- Apply one part's staged station visits to core.station_visits (latest version wins). Visits of an
-- unknown station client, with a negative or non-numeric amount, or an impossible time go to quarantine.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_station_visits on commit drop as
select
    s.record, s.source_file, s.line_no,
    case
        when meta.try_id(s.record ->> 'visit_id') is null
            then 'visit_id is not an integer'
        when meta.try_timestamp(s.record ->> 'visited_at') is null
            then 'impossible visited_at ' || coalesce(s.record ->> 'visited_at', 'null')
        when meta.try_timestamp(s.record ->> 'visited_at') < timestamp '2000-01-01'
          or meta.try_timestamp(s.record ->> 'visited_at') > now()::timestamp + interval '1 day'
            then 'visited_at out of range ' || (s.record ->> 'visited_at')
        when meta.try_numeric(s.record ->> 'amount') < 0 then 'negative amount ' || (s.record ->> 'amount')
        when coalesce(s.record ->> 'bought_coffee', 'false') not in ('true', 'false')
          or coalesce(s.record ->> 'paid_with_app', 'false') not in ('true', 'false')
            then 'bought_coffee and paid_with_app must be true or false'
        when s.record ->> 'station_id' is not null and meta.try_numeric(s.record ->> 'station_id') is null
            then 'non-numeric station_id ' || (s.record ->> 'station_id')
        when meta.try_id(s.record ->> 'client_id') is null
            then 'visit by unknown station client ' || (s.record ->> 'client_id')
        when not exists (select 1 from core.station_clients c
                         where c.client_id = meta.try_id(s.record ->> 'client_id'))
            then 'visit by unknown station client ' || (s.record ->> 'client_id')
    end as reason
from {{ latest_in_part('station_visits') }} as s;

{{ quarantine('station_visits', 'part_station_visits') }}

insert into core.station_visits (visit_id, client_id, station_id, visited_at, amount, fuel_grade, bought_coffee,
                                 paid_with_app, batch_id, part_no)
select meta.try_id(r ->> 'visit_id'), meta.try_id(r ->> 'client_id'), (r ->> 'station_id')::numeric::integer,
       (r ->> 'visited_at')::timestamp, (r ->> 'amount')::numeric, r ->> 'fuel_grade',
       coalesce((r ->> 'bought_coffee')::boolean, false), coalesce((r ->> 'paid_with_app')::boolean, false),
       %(batch_id)s, %(part_no)s
from part_station_visits as p cross join lateral (select p.record as r) as x
where p.reason is null
{%- if not fresh %}
on conflict (visit_id) do update set
    client_id = excluded.client_id, station_id = excluded.station_id, visited_at = excluded.visited_at,
    amount = excluded.amount, fuel_grade = excluded.fuel_grade, bought_coffee = excluded.bought_coffee,
    paid_with_app = excluded.paid_with_app, batch_id = excluded.batch_id, part_no = excluded.part_no,
    updated_at = now()
{%- endif %};
