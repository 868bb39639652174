-- Apply one part's staged clients to core.clients (type 2 history). Invalid records go to quarantine.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_clients on commit drop as
select
    s.record_hash, s.record, s.source_file, s.line_no, s.loaded_at,
    meta.try_id(s.record ->> 'client_id') as client_id,
    case
        when meta.try_id(s.record ->> 'client_id') is null or meta.try_id(s.record ->> 'client_id') <= 0
            then 'client_id is not a positive integer'
        when btrim(s.record ->> 'full_name') = '' then 'empty full_name'
        when meta.try_numeric(s.record ->> 'income') < 0 then 'negative income'
        when s.record ? 'birth_date' and meta.try_date(s.record ->> 'birth_date') is null
            then 'impossible birth_date ' || (s.record ->> 'birth_date')
        when meta.try_date(s.record ->> 'birth_date') > current_date
          or meta.try_date(s.record ->> 'birth_date') < date '1900-01-01'
            then 'birth_date out of range ' || (s.record ->> 'birth_date')
        when coalesce(s.record ->> 'gender', 'M') not in ('M', 'F') then 'unknown gender ' || (s.record ->> 'gender')
    end as reason
from {{ latest_in_part('clients') }} as s;

{{ quarantine('clients', 'part_clients') }}

-- Close the current version of every client whose content changed...
update core.clients as c
set valid_to = p.loaded_at, is_current = false
from part_clients as p
where p.reason is null
  and c.client_id = p.client_id
  and c.is_current
  and c.record_hash <> p.record_hash;

-- ...and open a new one (new clients, changed clients).
insert into core.clients (client_id, full_name, last_name, first_name, middle_name, gender, birth_date, region,
                          education, employment, income, phone, registered_at, record_hash, valid_from,
                          batch_id, part_no)
select p.client_id, btrim(r ->> 'full_name'), r ->> 'last_name', r ->> 'first_name',
       r ->> 'middle_name', r ->> 'gender', (r ->> 'birth_date')::date, r ->> 'region', r ->> 'education',
       r ->> 'employment', (r ->> 'income')::numeric, r ->> 'phone', meta.try_date(r ->> 'registered_at'),
       p.record_hash, p.loaded_at, %(batch_id)s, %(part_no)s
from part_clients as p
cross join lateral (select p.record as r) as x
where p.reason is null
  and not exists (
      select 1 from core.clients c
      where c.client_id = p.client_id and c.is_current and c.record_hash = p.record_hash
  );
