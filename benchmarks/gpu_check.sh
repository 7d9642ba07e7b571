#!/usr/bin/env bash
# Everything a GPU session records, in one run of under 8 minutes on an H100/H200: the
# reference vectors on the GPU, each speed lever alone and together (benchmarks/levers.py:
# eager, half residual, compiled, whole-chunk CUDA graphs, FlexAttention, chunks side by
# side, end to end at 320x180 and 1080p with the defaults, bytes per frame and GB/s, peak
# memory), each attention backend on the model's own call, the backend the model picks,
# and fp16/bf16 against fp32. The levers' JSON record is appended to
# docs/gpu-results.jsonl: commit it. Runs unchanged on any CUDA machine with the package
# importable:
#     bash benchmarks/gpu_check.sh 2>&1 | tee gpu_check.log
# Each step has its own time limit (STEP_TIMEOUT, seconds), so one slow or failing
# step costs its own figures only; the exit code counts the steps that failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LIMIT=${STEP_TIMEOUT:-240}
failures=0

step() {
    local title=$1
    shift
    printf '\n== %s\n$ %s\n' "$title" "$*"
    local start=$SECONDS
    timeout "$LIMIT" "$@"
    local rc=$?
    ((rc != 0)) && failures=$((failures + 1)) && echo "!! exit $rc"
    echo "(${title}: $((SECONDS - start)) s)"
}

printf '== machine\n'
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
$PY -c "import torch, av; print('torch', torch.__version__, 'CUDA', torch.version.cuda,
'cuDNN', torch.backends.cudnn.version(), 'PyAV', av.__version__)"
nproc

step "reference vectors on the GPU (fp32, fp16, bf16; fp16 with a half residual stream)" bash -c "
    $PY benchmarks/golden_check.py --device cuda && \
    $PY benchmarks/golden_check.py --device cuda --precision fp16 --half-residual"
LIMIT=${LEVERS_TIMEOUT:-330} step "each lever alone and together; the record" \
    $PY benchmarks/levers.py --device cuda --precision fp16 --record docs/gpu-results.jsonl
step "each SDPA backend and compiled FlexAttention on the model's call, fp16, 320x180" \
    $PY benchmarks/attention_backends.py --device cuda --precision fp16
step "attention backend, ops per frame" \
    $PY benchmarks/op_count.py --device cuda --precision fp16 --frames 4 --require-fused
step "fp16 and bf16 against fp32 (synthetic clip, random weights)" \
    $PY benchmarks/precision.py --device cuda --size 320x180 --frames 10
step "automatic (tile, chunk, chunk batch) at 1080p, x4 and x2" $PY -c "
import torch
from vsr_cli.infer.backend import free_memory
from vsr_cli.config import Tiling
from vsr_cli.infer.plan import auto_chunk_batch, auto_sizes
budget = free_memory(torch.device('cuda'))
for scale in (4, 2):
    tile, chunk = auto_sizes(1920, 1080, budget, 16, 4, scale)
    batch = auto_chunk_batch(1920, 1080, Tiling(tile, 16, chunk, 4), budget, scale)
    print(f'budget {budget >> 20} MiB, x{scale}: tile {tile}, chunk {chunk}, chunk batch {batch}')"

printf '\n== %d step(s) failed\n' "$failures"
exit "$failures"
