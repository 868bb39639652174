-- Quality gate on the next mart.ab_test_results (mart_next). Every column must be true.
select
    (select count(*) = count(distinct (model_run_id, experiment, variant)) from mart_next.ab_test_results)
        as ab_test_results_keys_unique,
    (select coalesce(bool_and(responses between 0 and clients and conversion_pct between 0 and 100
                              and (p_value is null or p_value between 0 and 1)
                              and (uplift_pct_points is null
                                   or uplift_pct_points between ci_low_pct_points and ci_high_pct_points)), true)
       from mart_next.ab_test_results) as ab_results_within_bounds;
