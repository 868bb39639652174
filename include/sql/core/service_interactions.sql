-- Apply one part's staged service interactions to core.service_interactions (latest version wins).
-- Events of an unknown client or service, of an unknown kind or with an impossible time go to quarantine.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_service_interactions on commit drop as
select
    s.record, s.source_file, s.line_no,
    case
        when meta.try_id(s.record ->> 'interaction_id') is null
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
                         where c.client_id = meta.try_id(s.record ->> 'client_id') and c.is_current)
            then 'interaction of unknown client ' || (s.record ->> 'client_id')
        when not exists (select 1 from core.partner_services ps where ps.service_id = s.record ->> 'service_id')
            then 'interaction with unknown service ' || (s.record ->> 'service_id')
    end as reason
from {{ latest_in_part('service_interactions') }} as s;

{{ quarantine('service_interactions', 'part_service_interactions') }}

insert into core.service_interactions (interaction_id, client_id, service_id, interacted_at, kind, weight, batch_id, part_no)
select meta.try_id(r ->> 'interaction_id'), meta.try_id(r ->> 'client_id'), r ->> 'service_id',
       (r ->> 'interacted_at')::timestamp, r ->> 'kind', (r ->> 'weight')::double precision, %(batch_id)s, %(part_no)s
from part_service_interactions as p cross join lateral (select p.record as r) as x
where p.reason is null
{%- if not fresh %}
on conflict (interaction_id) do update set
    client_id = excluded.client_id, service_id = excluded.service_id, interacted_at = excluded.interacted_at,
    kind = excluded.kind, weight = excluded.weight, batch_id = excluded.batch_id, part_no = excluded.part_no,
    updated_at = now()
{%- endif %};
