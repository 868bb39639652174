-- Stage one landed file already copied into temp table raw_lines(line_no, line).
-- Bad lines go to meta.quarantine with the reason; good ones are inserted unless an identical
-- record is already staged. Runs inside the part's transaction.
create temp table parsed_lines on commit drop as
select line_no, line, meta.try_jsonb(line) as record
from raw_lines;

create temp table checked_lines on commit drop as
select
    p.line_no,
    p.line,
    p.record,
    case
        when p.line is null or btrim(p.line) = '' then 'empty line'
        when p.record is null then 'malformed JSON'
        when jsonb_typeof(p.record) <> 'object' then 'not a JSON object'
        else (
            select string_agg(
                case
                    when coalesce(p.record -> r.field, 'null'::jsonb) = 'null'::jsonb
                        then 'missing key field ' || r.field
                    else 'wrong type for ' || r.field || ': expected ' || r.type
                        || ', got ' || jsonb_typeof(p.record -> r.field)
                end, '; ' order by r.field)
            from jsonb_each_text(%(required)s::jsonb) as r(field, type)
            where jsonb_typeof(p.record -> r.field) is distinct from r.type
        )
    end as reason
from parsed_lines as p;

insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
select 'staging', %(entity)s, %(batch_id)s, %(part_no)s, %(source_file)s, line_no, reason, line
from checked_lines
where reason is not null
on conflict do nothing;

insert into {{ entity.staging_table }} (natural_key, record_hash, record, batch_id, part_no, source_file, line_no)
select
    {% for field in entity.key %}(record ->> '{{ field }}'){{ " || '|' || " if not loop.last }}{% endfor %},
    md5(record::text),
    record,
    %(batch_id)s, %(part_no)s, %(source_file)s, line_no
from checked_lines
where reason is null
order by line_no
on conflict (natural_key, record_hash) do nothing;
