-- Snapshot what the recommender trains on for one model run: current clients with their segment (age
-- band / income band, the fallback's "popular in your segment") and one row per client and service with
-- the summed event weight. Re-running for the same model_run_id replaces its snapshot.
delete from meta.recommender_runs where model_run_id = %(model_run_id)s;

insert into meta.recommender_runs (model_run_id, dag_run_id, clients, services, pairs, events)
values (%(model_run_id)s, %(dag_run_id)s, 0, 0, 0, 0);

insert into meta.recommender_training_clients (model_run_id, client_id, segment)
select %(model_run_id)s, c.client_id,
       case
           when c.birth_date is null then 'age ?'
           when age(current_date, c.birth_date) < interval '30 years' then '18-29'
           when age(current_date, c.birth_date) < interval '45 years' then '30-44'
           when age(current_date, c.birth_date) < interval '60 years' then '45-59'
           else '60+'
       end || ' / ' ||
       case when c.income < 50000 then 'income <50k' when c.income < 100000 then 'income 50-100k'
            else 'income 100k+' end
from core.clients as c
where c.is_current;

insert into meta.recommender_training_pairs
    (model_run_id, client_id, service_id, weight, events, last_interacted_at)
select %(model_run_id)s, i.client_id, i.service_id, sum(i.weight), count(*), max(i.interacted_at)
from core.service_interactions as i
join meta.recommender_training_clients as c
  on c.model_run_id = %(model_run_id)s and c.client_id = i.client_id
join core.partner_services as s on s.service_id = i.service_id
group by i.client_id, i.service_id;

update meta.recommender_runs as r set
    clients = (select count(*) from meta.recommender_training_clients t where t.model_run_id = r.model_run_id),
    services = (select count(*) from core.partner_services),
    pairs = (select count(*) from meta.recommender_training_pairs t where t.model_run_id = r.model_run_id),
    events = (select coalesce(sum(events), 0) from meta.recommender_training_pairs t where t.model_run_id = r.model_run_id)
where r.model_run_id = %(model_run_id)s;

-- Keep the latest few snapshots only (a retried task of a recent run still finds its data).
delete from meta.recommender_runs
where model_run_id not in (
    select model_run_id from meta.recommender_runs order by created_at desc, model_run_id limit %(keep_runs)s
);
