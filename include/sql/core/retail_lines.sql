-- Apply one part's staged online-retail export lines to core.retail_lines, typed.
-- Lines whose date or numbers do not parse, and lines the import could not split into the header's fields
-- (landed with rejected_reason), go to quarantine with the reason. Lines that parse but do not
-- count for RFM (no customer, cancellation, quantity or price not positive, exact duplicate of an earlier
-- line of the same export) stay in core with rfm_exclusion_reason, so every line is accounted for.
-- InvoiceDate: ISO (2010-12-01 08:26:00) or the UCI spreadsheet's month-first form (12/1/2010 8:26).
-- Each field is read out of the jsonb once and parsed once (optimisation fences, streamed rather than
-- materialized), and the temp table keeps the raw record only for rejected lines: this step is what
-- bounds the throughput of a big export.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_retail on commit drop as
with latest as (
    select s.record, s.source_file, s.line_no from {{ latest_in_part('retail_purchases') }} as s
), parsed as (
    select raw.*,
           case when quantity_text ~ '^[+-]?[0-9]{1,9}(\.0*)?$' then quantity_text::numeric::integer end
               as quantity,
           case when price_text ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$'
                then price_text::numeric end as unit_price,
           meta.try_timestamp(regexp_replace(
               date_text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})( .*)?$', '\3-\1-\2\4')) as invoice_at
    from (
        select l.record, l.source_file, l.line_no,
               r ->> 'line_id' as line_id, r ->> 'source' as source, r ->> 'rejected_reason' as rejected_reason,
               btrim(coalesce(r ->> 'InvoiceNo', '')) as invoice_no,
               r ->> 'StockCode' as stock_code, r ->> 'Description' as description,
               btrim(coalesce(r ->> 'Quantity', '')) as quantity_text,
               btrim(coalesce(r ->> 'InvoiceDate', '')) as date_text,
               btrim(coalesce(r ->> 'UnitPrice', '')) as price_text,
               nullif(regexp_replace(btrim(coalesce(r ->> 'CustomerID', '')), '\.0*$', ''), '') as customer_id,
               r ->> 'Country' as country,
               md5(concat_ws(chr(31), r ->> 'InvoiceNo', r ->> 'StockCode', r ->> 'Description',
                             r ->> 'Quantity', r ->> 'InvoiceDate', r ->> 'UnitPrice', r ->> 'CustomerID',
                             r ->> 'Country')) as line_hash,
               meta.try_id(substring(r ->> 'line_id' from ':([0-9]+)$')) as row_no
        from latest as l cross join lateral (select l.record as r) as x
        offset 0  -- an optimisation fence: each field is read out of the jsonb once, streamed, not stored
    ) as raw
    offset 0  -- the same for the parsed values the checks below refer to more than once
), checked as (
    select p.*,
        case
            when p.rejected_reason is not null then p.rejected_reason  -- e.g. a ragged line of the export
            when p.row_no is null then 'line_id is not <source>:<row number>: ' || coalesce(p.line_id, 'null')
            when p.invoice_no = '' then 'empty InvoiceNo'
            when p.quantity is null then 'unparseable Quantity ' || quote_literal(p.quantity_text)
            when p.unit_price is null then 'unparseable UnitPrice ' || quote_literal(p.price_text)
            when p.invoice_at is null then 'unparseable InvoiceDate ' || quote_literal(p.date_text)
            when p.invoice_at < timestamp '1990-01-01' or p.invoice_at > now() + interval '1 day'
                then 'impossible InvoiceDate ' || p.date_text
        end as reason
    from parsed as p
)
select line_id, source, row_no, invoice_no, stock_code, description, quantity, invoice_at, unit_price,
       customer_id, country, line_hash, source_file, line_no, reason,
       case when reason is not null then record::text end as raw_record
from checked;

{{ quarantine('retail_purchases', 'part_retail', raw='raw_record') }}

insert into core.retail_lines (line_id, source, row_no, invoice_no, stock_code, description, quantity,
                               invoice_at, unit_price, customer_id, country, is_cancellation, line_hash,
                               rfm_exclusion_reason, batch_id, part_no)
select p.line_id, p.source, p.row_no, p.invoice_no, p.stock_code, p.description, p.quantity, p.invoice_at,
       p.unit_price, p.customer_id, p.country, c.is_cancellation, p.line_hash,
       case
           when p.customer_id is null then 'no customer'
           when c.is_cancellation then 'cancellation'
           when p.quantity <= 0 then 'quantity <= 0'
           when p.unit_price <= 0 then 'price <= 0'
       end,
       %(batch_id)s, %(part_no)s
from part_retail as p
cross join lateral (select upper(p.invoice_no) like 'C%%' as is_cancellation) as c
where p.reason is null
{%- if not fresh %}
on conflict (line_id) do update set
    source = excluded.source, row_no = excluded.row_no, invoice_no = excluded.invoice_no,
    stock_code = excluded.stock_code, description = excluded.description, quantity = excluded.quantity,
    invoice_at = excluded.invoice_at, unit_price = excluded.unit_price, customer_id = excluded.customer_id,
    country = excluded.country, is_cancellation = excluded.is_cancellation, line_hash = excluded.line_hash,
    rfm_exclusion_reason = excluded.rfm_exclusion_reason, batch_id = excluded.batch_id,
    part_no = excluded.part_no, updated_at = now()
{%- endif %};

-- An exact repeat of an earlier line of the same export (same fields, higher row number) is kept but
-- does not count twice towards monetary value. Only repeated (source, line_hash) pairs are ranked: a part
-- of a million distinct lines costs one hash aggregate, not a sort of every line (with statistics of the
-- lines just written: without them the planner takes the part for a few rows and sorts it).
analyze core.retail_lines;
with repeated as (
    select distinct l.source, l.line_hash
    from core.retail_lines as l
    where l.batch_id = %(batch_id)s and l.part_no = %(part_no)s and l.rfm_exclusion_reason is null
      and exists (
          select 1 from core.retail_lines as o
          where o.source = l.source and o.line_hash = l.line_hash and o.line_id <> l.line_id
      )
), ranked as (
    select l.line_id, row_number() over (partition by l.source, l.line_hash order by l.row_no) as copy_no
    from core.retail_lines as l join repeated as r using (source, line_hash)
)
update core.retail_lines as l
set rfm_exclusion_reason = 'duplicate line'
from ranked as d
where l.line_id = d.line_id and d.copy_no > 1 and l.rfm_exclusion_reason is null;
