-- Quality gate on the next mart.recommender_metrics (mart_next). Every column must be true.
select
    (select count(*) = count(distinct (model_run_id, variant)) from mart_next.recommender_metrics)
        as recommender_metrics_keys_unique,
    (select coalesce(bool_and(precision_at_k between 0 and 1 and recall_at_k between 0 and 1
                              and map_at_k between 0 and 1 and ndcg_at_k between 0 and 1
                              and coverage between 0 and 1 and users_evaluated >= 0 and k >= 1), true)
       from mart_next.recommender_metrics) as metrics_within_0_1;
