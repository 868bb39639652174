-- One row per source and RFM segment: how many customers, their share and average R, F and M.
insert into {{ target }}.rfm_segments
select source, segment, count(*),
       round(100.0 * count(*) / sum(count(*)) over (partition by source), 2),
       round(avg(recency_days), 1), round(avg(frequency), 2), round(avg(monetary), 2), sum(monetary)
from {{ target }}.rfm
group by source, segment;
