-- Apply one part's staged service interactions to core.service_interactions (latest version wins).
-- Events of an unknown client or service, of an unknown kind or with an impossible time go to quarantine.
create temp table part_service_interactions on commit drop as
select distinct on (s.natural_key)
    s.natural_key, s.record, s.source_file, s.line_no,
    case
        when meta.try_numeric(s.record ->> 'interaction_id') is null
          or meta.try_numeric(s.record ->> 'interaction_id') <> trunc(meta.try_numeric(s.record ->> 'interaction_id'))
            then 'interaction_id is not an integer'
        when meta.try_timestamp(s.record ->> 'interacted_at') is null
            then 'impossible interacted_at ' || coalesce(s.record ->> 'interacted_at', 'null')
        when meta.try_timestamp(s.record ->> 'interacted_at') < timestamp '2000-01-01'
          or meta.try_timestamp(s.record ->> 'interacted_at') > now() + interval '1 day'
            then 'interacted_at out of range ' || (s.record ->> 'interacted_at')
        when coalesce(s.record ->> 'kind', '') not in ('view', 'purchase')
            then 'unknown kind ' || coalesce(s.record ->> 'kind', 'null')
        when coalesce(meta.try_numeric(s.record ->> 'weight'), 0) <= 0
            then 'weight must be a positive number, got ' || coalesce(s.record ->> 'weight', 'null')
        when not exists (select 1 from core.clients c
                         where c.client_id = meta.try_bigint(s.record ->> 'client_id') and c.is_current)
            then 'interaction of unknown client ' || (s.record ->> 'client_id')
        when not exists (select 1 from core.partner_services ps where ps.service_id = s.record ->> 'service_id')
            then 'interaction with unknown service ' || (s.record ->> 'service_id')
    end as reason
from staging.service_interactions as s
where s.batch_id = %(batch_id)s and s.part_no = %(part_no)s
order by s.natural_key, s.line_no desc;

insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
select 'core', 'service_interactions', %(batch_id)s, %(part_no)s, source_file, line_no, reason, record::text
from part_service_interactions where reason is not null
on conflict do nothing;

insert into core.service_interactions (interaction_id, client_id, service_id, interacted_at, kind, weight, batch_id, part_no)
select (r ->> 'interaction_id')::bigint, (r ->> 'client_id')::bigint, r ->> 'service_id',
       (r ->> 'interacted_at')::timestamp, r ->> 'kind', (r ->> 'weight')::double precision, %(batch_id)s, %(part_no)s
from part_service_interactions as p cross join lateral (select p.record as r) as x
where p.reason is null
on conflict (interaction_id) do update set
    client_id = excluded.client_id, service_id = excluded.service_id, interacted_at = excluded.interacted_at,
    kind = excluded.kind, weight = excluded.weight, batch_id = excluded.batch_id, part_no = excluded.part_no,
    updated_at = now();
