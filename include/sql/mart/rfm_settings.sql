-- How mart.rfm was computed, per source: the rfm_exclude_duplicate_lines choice and the lines it
-- concerns (shown on the RFM dashboard page). Same as-of date and line filter as mart/rfm.sql.
with as_of as (
    select source, coalesce(%(rfm_as_of)s::date, max(invoice_at)::date + 1) as as_of_date
    from core.retail_lines
    group by source
)
insert into {{ target }}.rfm_settings (source, as_of_date, exclude_duplicate_lines, duplicate_lines,
                                       duplicate_lines_excluded, lines_counted)
select l.source, a.as_of_date, %(rfm_exclude_duplicate_lines)s,
       count(*) filter (where l.rfm_exclusion_reason = 'duplicate line' and l.invoice_at < a.as_of_date),
       case when %(rfm_exclude_duplicate_lines)s
            then count(*) filter (where l.rfm_exclusion_reason = 'duplicate line' and l.invoice_at < a.as_of_date)
            else 0 end,
       count(*) filter (where l.invoice_at < a.as_of_date
                          and (l.rfm_exclusion_reason is null
                               or (l.rfm_exclusion_reason = 'duplicate line'
                                   and not %(rfm_exclude_duplicate_lines)s)))
from core.retail_lines as l
join as_of as a using (source)
group by l.source, a.as_of_date;
