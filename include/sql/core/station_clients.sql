-- Apply one part's staged station clients to core.station_clients (latest version wins).
-- A station client must be a current bank client; invalid records go to quarantine.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_station_clients on commit drop as
select
    s.record, s.source_file, s.line_no,
    case
        when meta.try_id(s.record ->> 'client_id') is null
            then 'client_id is not an integer'
        when meta.try_numeric(s.record ->> 'distance_km') < 0
            then 'negative distance_km ' || (s.record ->> 'distance_km')
        when s.record ->> 'home_station_id' is not null
         and meta.try_numeric(s.record ->> 'home_station_id') is null
            then 'non-numeric home_station_id ' || (s.record ->> 'home_station_id')
        when s.record ->> 'card_issued_at' is not null and meta.try_date(s.record ->> 'card_issued_at') is null
            then 'impossible card_issued_at ' || (s.record ->> 'card_issued_at')
        when not exists (select 1 from core.clients c
                         where c.client_id = meta.try_id(s.record ->> 'client_id') and c.is_current)
            then 'station client is not a bank client ' || (s.record ->> 'client_id')
    end as reason
from {{ latest_in_part('station_clients') }} as s;

{{ quarantine('station_clients', 'part_station_clients') }}

insert into core.station_clients (client_id, home_station_id, distance_km, card_issued_at, batch_id, part_no)
select meta.try_id(r ->> 'client_id'), (r ->> 'home_station_id')::numeric::integer, (r ->> 'distance_km')::numeric,
       (r ->> 'card_issued_at')::date, %(batch_id)s, %(part_no)s
from part_station_clients as p cross join lateral (select p.record as r) as x
where p.reason is null
{%- if not fresh %}
on conflict (client_id) do update set
    home_station_id = excluded.home_station_id, distance_km = excluded.distance_km,
    card_issued_at = excluded.card_issued_at, batch_id = excluded.batch_id, part_no = excluded.part_no,
    updated_at = now()
where (core.station_clients.home_station_id, core.station_clients.distance_km, core.station_clients.card_issued_at)
      is distinct from (excluded.home_station_id, excluded.distance_km, excluded.card_issued_at)
{%- endif %};
