\set account random(1, 10000)
\set draw random(1, 100)
select bench.transfer(:account, :draw);
