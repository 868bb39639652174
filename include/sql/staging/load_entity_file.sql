-- Stage one slice of a landed file, already copied into temp table raw_lines(line_no, line), in one
-- statement. Two forms of the same rules (staging.py tries the quick one first):
--   quick (`careful` off): every line must parse and carry its required fields, else the statement fails
--     (22000 naming the line, or the cast's 22P02) and staging.py runs the careful form instead; no row is
--     kept between the passes, so the slice is parsed and inserted once. On a `fresh` table (empty when its
--     file began) it is a plain insert: a record repeated within the file fails it (unique violation), and
--     the careful form counts the repeat as unchanged. Returns nothing: staged = the insert's row count.
--   careful: bad lines go to meta.quarantine with the reason, good ones into staging unless an identical
--     record is already staged; returns (read, quarantined, staged).
-- The required fields and their JSON types come from the entity registry (structure); the part's identity
-- comes in as bind parameters (values). Runs inside the file's transaction.
{%- macro natural_key() -%}
{% for field in entity.key %}(record ->> '{{ field }}'){{ " || '|' || " if not loop.last }}{% endfor %}
{%- endmacro %}
{%- macro has_required_fields() -%}
{% for field, type in entity.required.items() -%}
jsonb_typeof(record -> '{{ field }}') = '{{ type }}'{{ " and " if not loop.last }}
{%- endfor %}
{%- endmacro %}
{%- macro staged_columns() -%}
insert into {{ entity.staging_table }} (natural_key, record_hash, record, batch_id, part_no, source_file, line_no)
select {{ natural_key() }}, md5(record::text), record, %(batch_id)s, %(part_no)s, %(source_file)s, line_no
{%- endmacro %}
{% if not careful %}
{{ staged_columns() }}
from (select line_no, line::jsonb as record from raw_lines offset 0) as p
where case
    when jsonb_typeof(record) = 'object' and {{ has_required_fields() }} then true
    else meta.refuse_line(line_no)
end
{%- if not fresh %}
on conflict (natural_key, record_hash) do nothing
{%- endif %};
{% else %}
with checked as materialized (
    select
        p.line_no,
        p.line,
        p.record,
        case
            when p.line is null or btrim(p.line) = '' then 'empty line'
            when p.record is null then 'malformed JSON'
            when jsonb_typeof(p.record) <> 'object' then 'not a JSON object'
            -- the usual case first: every required field there with its type, one lookup per field
            when {{ has_required_fields() }} then null
            else nullif(concat_ws('; '
                {%- for field, type in entity.required.items() %},
                case
                    when coalesce(p.record -> '{{ field }}', 'null') = 'null' then 'missing key field {{ field }}'
                    when jsonb_typeof(p.record -> '{{ field }}') <> '{{ type }}'
                        then 'wrong type for {{ field }}: expected {{ type }}, got ' || jsonb_typeof(p.record -> '{{ field }}')
                end
                {%- endfor %}
            ), '')
        end as reason
    from (
        -- parse: a plain cast when the whole slice is valid JSON, a safe cast otherwise
        select line_no, line, {{ 'meta.try_jsonb(line)' if safe_parse else 'line::jsonb' }} as record
        from raw_lines
        offset 0  -- an optimisation fence: parse each line once, not once per reference to record
    ) as p
), quarantined as (
    insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
    select 'staging', %(entity)s, %(batch_id)s, %(part_no)s, %(source_file)s, line_no, reason, line
    from checked
    where reason is not null
    on conflict do nothing
    returning 1
), staged as (
    {{ staged_columns() }}
    from checked
    where reason is null
    on conflict (natural_key, record_hash) do nothing
    returning 1
)
select (select count(*) from checked), (select count(*) from quarantined), (select count(*) from staged);
{% endif %}
