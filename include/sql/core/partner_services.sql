-- Apply one part's staged partner services to core.partner_services (latest version wins).
-- Catalogue lines the import could not parse (landed with rejected_reason naming the file line) and rows
-- with an empty partner or service name go to quarantine.
create temp table part_partner_services on commit drop as
select distinct on (s.natural_key)
    s.natural_key, s.record, s.source_file, s.line_no,
    case
        when s.record ->> 'rejected_reason' is not null
            then 'rejected by the catalogue parser: ' || (s.record ->> 'rejected_reason')
        when s.record ->> 'service_id' !~ '^svc_[0-9a-f]{12}$' then 'malformed service_id ' || (s.record ->> 'service_id')
        when btrim(s.record ->> 'partner_name') = '' then 'empty partner_name'
        when btrim(s.record ->> 'service_name') = '' then 'empty service_name'
    end as reason
from staging.partner_services as s
where s.batch_id = %(batch_id)s and s.part_no = %(part_no)s
order by s.natural_key, s.line_no desc;

insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
select 'core', 'partner_services', %(batch_id)s, %(part_no)s, source_file, line_no, reason, record::text
from part_partner_services where reason is not null
on conflict do nothing;

insert into core.partner_services (service_id, partner_name, partner_category, service_name, description, batch_id, part_no)
select r ->> 'service_id', btrim(r ->> 'partner_name'), nullif(btrim(r ->> 'partner_category'), ''),
       btrim(r ->> 'service_name'), nullif(btrim(r ->> 'description'), ''), %(batch_id)s, %(part_no)s
from part_partner_services as p cross join lateral (select p.record as r) as x
where p.reason is null
on conflict (service_id) do update set
    partner_name = excluded.partner_name, partner_category = excluded.partner_category,
    service_name = excluded.service_name, description = excluded.description,
    batch_id = excluded.batch_id, part_no = excluded.part_no, updated_at = now();
