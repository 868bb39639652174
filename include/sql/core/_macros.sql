{#- Pieces every core SQL file shares; a file imports them with
    {% from 'core/_macros.sql' import latest_in_part, quarantine %} -#}

{#- The part's staged rows of `entity`, only the latest version of each natural key (its highest line
    number in the part), as a FROM item: `from {{ latest_in_part('clients') }} as s`. A hash anti-join:
    no sort of the part. -#}
{% macro latest_in_part(entity) -%}
(
    select v.* from staging.{{ entity }} as v
    where v.batch_id = %(batch_id)s and v.part_no = %(part_no)s
      and not exists (
          select 1 from staging.{{ entity }} as later
          where later.batch_id = v.batch_id and later.part_no = v.part_no
            and later.natural_key = v.natural_key and later.line_no > v.line_no
      )
)
{%- endmacro %}

{#- Every record of the part's temp table `part_table` with a reason goes to meta.quarantine, with its
    file, line and raw text (`raw`: the column holding it). Idempotent per (entity, part, line). -#}
{% macro quarantine(entity, part_table, raw='record::text') -%}
insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
select 'core', '{{ entity }}', %(batch_id)s, %(part_no)s, source_file, line_no, reason, {{ raw }}
from {{ part_table }} where reason is not null
on conflict do nothing;
{%- endmacro %}
