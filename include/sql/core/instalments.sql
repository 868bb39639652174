-- Apply one part's staged payments to core.instalments (latest version wins). Invalid records go to quarantine.
-- Fields are read out of the jsonb and cast once, null-safe; the temp table keeps typed columns, and the
-- raw record and its file only for rejected lines.
{% from 'core/_macros.sql' import instalment_flags, latest_in_part, quarantine %}
create temp table part_payments on commit drop as
select
    line_no, loan_id, instalment_no, due_date, amount_due, paid_date, amount_paid, reason,
    case when reason is not null then source_file end as source_file,
    case when reason is not null then record::text end as raw_record
from (
    select t.*,
        case
            when t.instalment_no is null or t.instalment_no not between 1 and 10000
                then 'impossible instalment_no ' || coalesce(t.record ->> 'instalment_no', 'null')
            when t.due_date is null then 'impossible due_date ' || coalesce(t.record ->> 'due_date', 'null')
            when t.paid_text is not null and t.paid_date is null then 'impossible paid_date ' || t.paid_text
            when t.amount_due is null or t.amount_due < 0
                then 'negative amount_due ' || coalesce(t.record ->> 'amount_due', 'null')
            when t.amount_paid_text is not null and coalesce(t.amount_paid, -1) < 0
                then 'negative or non-numeric amount_paid ' || t.amount_paid_text
            when t.amount_due >= 1e12 or t.amount_paid >= 1e12 then 'amount out of range (1e12 or more)'
            when (t.paid_text is null) <> (t.amount_paid_text is null)
                then 'paid_date and amount_paid must both be set or both be empty'
            when l.loan_id is null then 'payment for unknown loan ' || t.loan_id
            when t.due_date < l.issue_date then 'due_date before the loan''s issue_date'
            when t.paid_date < l.issue_date then 'paid_date before the loan''s issue_date'
        end as reason
    from (
        select s.record, s.source_file, s.line_no,
               s.record ->> 'loan_id' as loan_id,
               meta.try_id(s.record ->> 'instalment_no') as instalment_no,
               meta.try_date(s.record ->> 'due_date') as due_date,
               meta.try_numeric(s.record ->> 'amount_due') as amount_due,
               s.record ->> 'paid_date' as paid_text,
               meta.try_date(s.record ->> 'paid_date') as paid_date,
               s.record ->> 'amount_paid' as amount_paid_text,
               meta.try_numeric(s.record ->> 'amount_paid') as amount_paid
        from {{ latest_in_part('payments') }} as s
        offset 0  -- an optimisation fence: each field is read out of the jsonb and cast once
    ) as t
    left join core.loans as l on l.loan_id = t.loan_id
    offset 0  -- the same for the checks: reason is computed once for the three columns above that use it
) as checked;

{{ quarantine('payments', 'part_payments', raw='raw_record') }}

-- Flagged as of the date the last flag_overdue_instalments run used (today before the first run), so that
-- the next run rewrites only the rows whose flags changed since - not every instalment a big part brought.
insert into core.instalments (loan_id, instalment_no, due_date, amount_due, paid_date, amount_paid,
                              is_overdue, overdue_reason, days_past_due, dpd_bucket, batch_id, part_no)
select p.loan_id, p.instalment_no, p.due_date, p.amount_due, p.paid_date, p.amount_paid,
       f.is_overdue, f.overdue_reason, f.days_past_due, f.dpd_bucket, %(batch_id)s, %(part_no)s
from part_payments as p
cross join (select coalesce(max(as_of_date), current_date) as as_of from core.loans) as last_flags
cross join {{ instalment_flags('p', 'last_flags.as_of') }} as f
where p.reason is null
{%- if not fresh %}
on conflict (loan_id, instalment_no) do update set
    due_date = excluded.due_date, amount_due = excluded.amount_due, paid_date = excluded.paid_date,
    amount_paid = excluded.amount_paid, is_overdue = excluded.is_overdue,
    overdue_reason = excluded.overdue_reason, days_past_due = excluded.days_past_due,
    dpd_bucket = excluded.dpd_bucket, batch_id = excluded.batch_id, part_no = excluded.part_no,
    updated_at = now()
{%- endif %};
