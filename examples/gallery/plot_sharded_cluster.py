"""
One point in shards on a Dask cluster
=====================================

For odd σ a resolved d_MS at N needs about N² samples: more than one process draws at large N.
``ShardOptions(size=ROWS)`` cuts the measured run into shards of ROWS rows, and
``check_generator(..., client=client)`` runs them on a Dask cluster (docs/theory.md §4.1, Sharded
runs). Shard i draws its latents from part i of the check's seed stream and the shards' statistics
are merged in shard order, so the result depends on the seed and the shard size only, never on
where or how many workers ran the shards.

This example starts a small ``LocalCluster`` (two workers in this process, no fixed ports), checks
one point in 8 shards on it, checks the same point with the shards run one after the other in this
process, and shows that the two give the same numbers. The cluster is closed at the end.
"""

# %%
# Start a local cluster
# ---------------------
import time

import matplotlib.pyplot as plt
from distributed import Client, LocalCluster

import getheory as gt

# no fixed port anywhere: the scheduler's HTTP server starts even without a dashboard, and would take 8787
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                       scheduler_port=0, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
client = Client(cluster)
print(client)

# %%
# The same sharded point, on the cluster and here
# -----------------------------------------------
options = gt.CheckOptions(activation="sign", N=48, D=24, K=1, M=1, samples=8 * 8_192, seed=3, analytic=False,
                          shards=gt.ShardOptions(size=8_192))
print(options)
t0 = time.perf_counter()
on_cluster = gt.check_generator(options=options, client=client)
t_cluster = time.perf_counter() - t0
t0 = time.perf_counter()
here = gt.check_generator(options=options)
t_here = time.perf_counter() - t0
client.close()
cluster.close()

for name, r in (("cluster", on_cluster), ("here", here)):
    print(f"{name:8s} d_MS = {r.dms.value:.6f} ± {r.dms.se:.6f} ({r.dms.estimator}), "
          f"kappa4 = {r.dms.cumulant.kappa4:.5f}, n = {r.measured_run['n']:,}")
print("identical d_MS on the cluster and here:", on_cluster.dms.value == here.dms.value)
print("identical kappa4:", on_cluster.dms.cumulant.kappa4 == here.dms.cumulant.kappa4)
print(f"wall time: cluster {t_cluster:.1f} s, here {t_here:.1f} s")

# %%
# The two results
# ---------------
fig, ax = plt.subplots(figsize=(5, 2.5))
for y, (name, r) in enumerate((("8 shards on 2 Dask workers", on_cluster), ("8 shards in this process", here))):
    ax.errorbar(r.dms.value, y, xerr=r.dms.se, fmt="o", capsize=4)
ax.set_yticks([0, 1], ["8 shards on 2 Dask workers", "8 shards in this process"])
ax.set_ylim(-0.5, 1.5)
ax.set_xlabel(f"d_MS, sign, N = {options.N}")
fig.tight_layout()
