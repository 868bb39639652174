-- Quality gate on the next mart.recommendations (mart_next) before it is swapped in. Every column must be
-- true (warehouse/marts.py check() names each false one).
select
    (select count(*) = count(distinct (client_id, rank)) from mart_next.recommendations)
        as recommendations_keys_unique,
    (select count(*) = 0 from mart_next.recommendations as r
       join meta.recommender_training_pairs as p
         on p.model_run_id = r.model_run_id and p.client_id = r.client_id and p.service_id = r.service_id)
        as no_service_the_client_already_uses,
    (select count(*) = 0 from mart_next.recommendations as r
      where not exists (select 1 from meta.recommender_training_clients as c
                        where c.model_run_id = r.model_run_id and c.client_id = r.client_id))
        as no_orphan_clients,
    (select count(*) from mart_next.recommendations) = (select count(*) from next_recommendations)
        as every_recommendation_has_its_service_in_core,
    (select coalesce(bool_and(ranks = max_rank and min_rank = 1), true)
       from (select count(*) as ranks, max(rank) as max_rank, min(rank) as min_rank
             from mart_next.recommendations group by client_id) as r)
        as ranks_run_from_1_without_gaps,
    (select count(distinct model_run_id) <= 1 from mart_next.recommendations) as one_model_run;
