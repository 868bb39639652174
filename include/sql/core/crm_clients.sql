-- Apply one part's staged CRM clients to core.crm_clients (latest version wins). Rows the import's
-- cleaning rejected (rejected_reason set) and rows still lacking a name or contact go to quarantine.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_crm_clients on commit drop as
select
    s.record, s.source_file, s.line_no,
    case
        when s.record ->> 'rejected_reason' is not null
            then 'rejected by CRM cleaning: ' || (s.record ->> 'rejected_reason')
        when coalesce(btrim(s.record ->> 'full_name'), '') = '' then 'no_name'
        when coalesce(s.record ->> 'phone', s.record ->> 'email') is null then 'no_contact'
        when s.record ->> 'updated_at' is not null and meta.try_timestamp(s.record ->> 'updated_at') is null
            then 'impossible updated_at ' || (s.record ->> 'updated_at')
    end as reason
from {{ latest_in_part('crm_clients') }} as s;

{{ quarantine('crm_clients', 'part_crm_clients') }}

insert into core.crm_clients (client_key, crm_id, full_name, phone, email, city, crm_updated_at, merged_rows,
                              issues, source, batch_id, part_no)
select r ->> 'client_key', r ->> 'crm_id', btrim(r ->> 'full_name'), r ->> 'phone', r ->> 'email', r ->> 'city',
       (r ->> 'updated_at')::timestamp, coalesce((r ->> 'merged_rows')::integer, 1), r ->> 'issues',
       r ->> 'source', %(batch_id)s, %(part_no)s
from part_crm_clients as p cross join lateral (select p.record as r) as x
where p.reason is null
{%- if not fresh %}
on conflict (client_key) do update set
    crm_id = excluded.crm_id, full_name = excluded.full_name, phone = excluded.phone, email = excluded.email,
    city = excluded.city, crm_updated_at = excluded.crm_updated_at, merged_rows = excluded.merged_rows,
    issues = excluded.issues, source = excluded.source, batch_id = excluded.batch_id, part_no = excluded.part_no,
    updated_at = now()
{%- endif %};
