-- Apply one part's staged partner services to core.partner_services (latest version wins).
-- Catalogue lines the import could not parse (landed with rejected_reason naming the file line) and rows
-- with an empty partner or service name go to quarantine.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_partner_services on commit drop as
select
    s.record, s.source_file, s.line_no,
    case
        when s.record ->> 'rejected_reason' is not null
            then 'rejected by the catalogue parser: ' || (s.record ->> 'rejected_reason')
        when s.record ->> 'service_id' !~ '^svc_[0-9a-f]{12}$' then 'malformed service_id ' || (s.record ->> 'service_id')
        when btrim(s.record ->> 'partner_name') = '' then 'empty partner_name'
        when btrim(s.record ->> 'service_name') = '' then 'empty service_name'
    end as reason
from {{ latest_in_part('partner_services') }} as s;

{{ quarantine('partner_services', 'part_partner_services') }}

insert into core.partner_services (service_id, partner_name, partner_category, service_name, description, batch_id, part_no)
select r ->> 'service_id', btrim(r ->> 'partner_name'), nullif(btrim(r ->> 'partner_category'), ''),
       btrim(r ->> 'service_name'), nullif(btrim(r ->> 'description'), ''), %(batch_id)s, %(part_no)s
from part_partner_services as p cross join lateral (select p.record as r) as x
where p.reason is null
{%- if not fresh %}
on conflict (service_id) do update set
    partner_name = excluded.partner_name, partner_category = excluded.partner_category,
    service_name = excluded.service_name, description = excluded.description,
    batch_id = excluded.batch_id, part_no = excluded.part_no, updated_at = now()
{%- endif %};
