-- Today's notification list: loans in arrears after payment allocation, at or above the tolerance
-- (core.loans.days_past_due > 0), not written off; priority by DPD stage and amount, channel by stage.
insert into {{ target }}.overdue_notifications
select
    l.as_of_date, c.client_id, c.full_name, c.phone, l.loan_id, l.days_past_due,
    case when l.days_past_due <= 30 then '1-30' when l.days_past_due <= 60 then '31-60'
         when l.days_past_due <= 90 then '61-90' else '90+' end,
    l.arrears_amount,
    case when l.days_past_due > 90 or l.arrears_amount > 100000 then 1 when l.days_past_due > 30 then 2 else 3 end,
    case when l.days_past_due <= 30 then 'SMS'
         when l.days_past_due <= 90 then 'звонок оператора'
         else 'письмо и передача во взыскание' end,
    format('не погашено %%s ₽ с %%s (%%s дн.) по договору %%s: платежи идут в счёт самых старых долгов',
           l.arrears_amount, to_char(l.as_of_date - l.days_past_due, 'DD.MM.YYYY'), l.days_past_due, l.loan_id)
from core.loans as l
join core.clients as c on c.client_id = l.client_id and c.is_current
where l.days_past_due > 0 and l.status in ('overdue', 'default') and l.as_of_date = %(as_of)s::date;
