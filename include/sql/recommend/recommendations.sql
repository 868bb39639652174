-- Next version of mart.recommendations: this run's top-k per client (temp table next_recommendations,
-- written by recommend/warehouse.py) with each service's partner and name from core.
insert into {{ target }}.recommendations (client_id, service_id, partner_name, service_name, score, rank, reason,
                                         variant, model_run_id)
select n.client_id, n.service_id, s.partner_name, s.service_name, n.score, n.rank, n.reason,
       %(variant)s, %(model_run_id)s
from next_recommendations as n
join core.partner_services as s on s.service_id = n.service_id;
