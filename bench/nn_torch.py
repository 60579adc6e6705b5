#!/usr/bin/python3
"""One training step of the VAE-decoder-shaped MLP in PyTorch, next to cryogen's bench_nn.

Usage: /usr/bin/python3 bench/nn_torch.py [--bench BUILD/bench_nn] [--threads 1 2] [--steps 6] [--rounds 1]
                                          [--env KEY=VALUE ...]

For each thread count, runs (in subprocesses with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS
set to that count, and torch.set_num_threads) the PyTorch step and then cryogen's bench_nn,
so both are measured in the same script run, and prints a table plus the JSON lines.
--env adds variables to both subprocesses (e.g. OPENBLAS_CORETYPE=SkylakeX: both PyTorch
and cryogen link the same OpenBLAS, so both get its AVX-512 kernels).
Model (cryoDRGN ResidLinearMLP): Linear(200,256)+ReLU, 3 x [x + Linear(256,256)(x)]+ReLU,
Linear(256,2); batch 16 images x 1,605 points = 25,680 rows; MSE loss; Adam; no input
gradient. Timings: best and mean of `steps` steps after one warm-up step; GFLOP/s counts
the GEMM multiply-adds only (same count as bench_nn).
"""
import argparse
import json
import os
import subprocess
import sys
import time

IMAGES, POINTS = 16, 1605
ROWS = IMAGES * POINTS
DIMS = [200, 256, 256, 256, 256, 2]


def flops_per_step():
    f = 0.0
    for i in range(len(DIMS) - 1):
        mac = 2.0 * ROWS * DIMS[i] * DIMS[i + 1]
        f += mac * (3.0 if i > 0 else 2.0)  # forward, dW, dX (no dX for the first layer)
    return f


def torch_worker(threads, steps):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    # the same residual MLP the nn core's reference trajectories use (one definition of the layer order)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
    from make_nn_reference import ResidMLP

    model = ResidMLP(DIMS[0], DIMS[1], len(DIMS) - 3, DIMS[-1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(ROWS, 200) * 2 - 1
    y = torch.randn(ROWS, 2)
    times, cpu = [], []
    for s in range(steps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        t, ct = time.perf_counter() - t0, time.process_time() - c0
        if s > 0:
            times.append(t)
            cpu.append(ct)
    best, mean = min(times), sum(times) / len(times)
    print(json.dumps({"impl": "torch " + torch.__version__, "threads": threads, "step_ms_mean": round(1e3 * mean, 2),
                      "step_ms_best": round(1e3 * best, 2), "images_per_s": round(IMAGES / best, 1),
                      "gflops": round(flops_per_step() / best * 1e-9, 2), "cpu_ms_best": round(1e3 * min(cpu), 2)}))


EXTRA_ENV = {}


def run(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), **EXTRA_ENV)
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench_nn")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=1, help="repeat the whole comparison")
    ap.add_argument("--env", nargs="*", default=[], help="KEY=VALUE for both subprocesses")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    EXTRA_ENV.update(kv.split("=", 1) for kv in a.env)
    if a.worker:
        torch_worker(a.worker, a.steps)
        return
    rows = []
    for r in range(a.rounds):
        for t in a.threads:
            tr = run([sys.executable, os.path.abspath(__file__), "--worker", str(t), "--steps", str(a.steps)], t)[0]
            cg = run([a.bench, "--threads", str(t), "--steps", str(a.steps), "--warmup", "1"], t)[0]
            rows.append((r, t, cg, tr))
            print(json.dumps(tr))
            print(json.dumps(cg))
            sys.stdout.flush()
    print()
    print("| round | threads | cryogen ms/step (best / mean) | images/s | GFLOP/s | sgemm GFLOP/s | % of sgemm "
          "| torch ms/step (best / mean) | torch images/s | cryogen / torch | CPU ms/step cryogen / torch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r, t, cg, tr in rows:
        print("| %d | %d | %.0f / %.0f | %.1f | %.1f | %.1f | %.0f%% | %.0f / %.0f | %.1f | %.2fx | %.0f / %.0f |" % (
            r, t, cg["step_ms_best"], cg["step_ms_mean"], cg["images_per_s"], cg["gflops"], cg["sgemm_gflops"],
            cg["pct_of_sgemm"], tr["step_ms_best"], tr["step_ms_mean"], tr["images_per_s"],
            cg["images_per_s"] / tr["images_per_s"], cg["cpu_ms_best"], tr["cpu_ms_best"]))


if __name__ == "__main__":
    main()
