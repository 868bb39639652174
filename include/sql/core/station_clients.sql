-- Apply one part's staged station clients to core.station_clients (latest version wins).
-- A station client must be a current bank client; invalid records go to quarantine.
create temp table part_station_clients on commit drop as
select distinct on (s.natural_key)
    s.natural_key, s.record, s.source_file, s.line_no,
    case
        when meta.try_numeric(s.record ->> 'client_id') is null
          or meta.try_numeric(s.record ->> 'client_id') <> trunc(meta.try_numeric(s.record ->> 'client_id'))
          or abs(meta.try_numeric(s.record ->> 'client_id')) > 1e15
            then 'client_id is not an integer'
        when meta.try_numeric(s.record ->> 'distance_km') < 0
            then 'negative distance_km ' || (s.record ->> 'distance_km')
        when s.record ->> 'home_station_id' is not null
         and meta.try_numeric(s.record ->> 'home_station_id') is null
            then 'non-numeric home_station_id ' || (s.record ->> 'home_station_id')
        when s.record ->> 'card_issued_at' is not null and meta.try_date(s.record ->> 'card_issued_at') is null
            then 'impossible card_issued_at ' || (s.record ->> 'card_issued_at')
        -- client_id is a valid integer here (first branch), so the cast is safe and the key index is used
        when not exists (select 1 from core.clients c
                         where c.client_id = (s.record ->> 'client_id')::numeric::bigint and c.is_current)
            then 'station client is not a bank client ' || (s.record ->> 'client_id')
    end as reason
from staging.station_clients as s
where s.batch_id = %(batch_id)s and s.part_no = %(part_no)s
order by s.natural_key, s.line_no desc;

insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
select 'core', 'station_clients', %(batch_id)s, %(part_no)s, source_file, line_no, reason, record::text
from part_station_clients where reason is not null
on conflict do nothing;

insert into core.station_clients (client_id, home_station_id, distance_km, card_issued_at, batch_id, part_no)
select (r ->> 'client_id')::bigint, (r ->> 'home_station_id')::numeric::integer, (r ->> 'distance_km')::numeric,
       (r ->> 'card_issued_at')::date, %(batch_id)s, %(part_no)s
from part_station_clients as p cross join lateral (select p.record as r) as x
where p.reason is null
on conflict (client_id) do update set
    home_station_id = excluded.home_station_id, distance_km = excluded.distance_km,
    card_issued_at = excluded.card_issued_at, batch_id = excluded.batch_id, part_no = excluded.part_no,
    updated_at = now()
where (core.station_clients.home_station_id, core.station_clients.distance_km, core.station_clients.card_issued_at)
      is distinct from (excluded.home_station_id, excluded.distance_km, excluded.card_issued_at);
