-- Today's notification list: every loan past due, with priority and a channel that escalates with DPD.
insert into {{ target }}.overdue_notifications
select
    l.as_of_date, c.client_id, c.full_name, c.phone, l.loan_id, l.max_dpd,
    case when l.max_dpd <= 30 then '1-30' when l.max_dpd <= 60 then '31-60'
         when l.max_dpd <= 90 then '61-90' else '90+' end,
    l.overdue_amount,
    case when l.max_dpd > 90 or l.overdue_amount > 100000 then 1 when l.max_dpd > 30 then 2 else 3 end,
    case when l.max_dpd <= 5 then 'push / SMS'
         when l.max_dpd <= 30 then 'SMS и звонок робота'
         when l.max_dpd <= 90 then 'звонок оператора'
         else 'письмо и передача во взыскание' end,
    format('просрочка %%s дн., к оплате %%s ₽ по договору %%s', l.max_dpd, l.overdue_amount, l.loan_id)
from core.loans as l
join core.clients as c on c.client_id = l.client_id and c.is_current
where l.max_dpd > 0 and l.as_of_date = %(as_of)s::date;
