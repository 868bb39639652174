-- Apply one part's staged payments to core.instalments (latest version wins). Invalid records go to quarantine.
create temp table part_payments on commit drop as
select distinct on (s.natural_key)
    s.natural_key, s.record, s.source_file, s.line_no,
    case
        when meta.try_date(s.record ->> 'due_date') is null
            then 'impossible due_date ' || coalesce(s.record ->> 'due_date', 'null')
        when s.record ->> 'paid_date' is not null and meta.try_date(s.record ->> 'paid_date') is null
            then 'impossible paid_date ' || (s.record ->> 'paid_date')
        when meta.try_numeric(s.record ->> 'amount_due') is null or (s.record ->> 'amount_due')::numeric < 0
            then 'negative amount_due ' || (s.record ->> 'amount_due')
        when s.record ->> 'amount_paid' is not null
         and coalesce(meta.try_numeric(s.record ->> 'amount_paid'), -1) < 0
            then 'negative or non-numeric amount_paid ' || (s.record ->> 'amount_paid')
        when (s.record ->> 'paid_date' is null) <> (s.record ->> 'amount_paid' is null)
            then 'paid_date and amount_paid must both be set or both be empty'
        when l.loan_id is null then 'payment for unknown loan ' || (s.record ->> 'loan_id')
        when (s.record ->> 'due_date')::date < l.issue_date then 'due_date before the loan''s issue_date'
        when (s.record ->> 'paid_date')::date < l.issue_date then 'paid_date before the loan''s issue_date'
    end as reason
from staging.payments as s
left join core.loans as l on l.loan_id = s.record ->> 'loan_id'
where s.batch_id = %(batch_id)s and s.part_no = %(part_no)s
order by s.natural_key, s.line_no desc;

insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
select 'core', 'payments', %(batch_id)s, %(part_no)s, source_file, line_no, reason, record::text
from part_payments where reason is not null
on conflict do nothing;

insert into core.instalments (loan_id, instalment_no, due_date, amount_due, paid_date, amount_paid,
                              batch_id, part_no)
select r ->> 'loan_id', (r ->> 'instalment_no')::int, (r ->> 'due_date')::date, (r ->> 'amount_due')::numeric,
       (r ->> 'paid_date')::date, (r ->> 'amount_paid')::numeric, %(batch_id)s, %(part_no)s
from part_payments as p cross join lateral (select p.record as r) as x
where p.reason is null
on conflict (loan_id, instalment_no) do update set
    due_date = excluded.due_date, amount_due = excluded.amount_due, paid_date = excluded.paid_date,
    amount_paid = excluded.amount_paid, batch_id = excluded.batch_id, part_no = excluded.part_no,
    is_overdue = null, days_past_due = null, updated_at = now();
