#!/usr/bin/env bash
# Everything a GPU session records, in one run of under 8 minutes on an H100/H200:
# the reference vectors on the GPU (eager and compiled), each attention backend on the
# model's own call, the backend the model picks and its op count, model-only and end-to-end
# fps at 320x180 -> 1280x720 in fp16 and fp32, share of peak, peak memory, fp16 vs fp32
# PSNR, --tile-batch 1 vs 4, 1080p x4 and x2 with automatic sizes, and compiled vs eager,
# with and without CUDA graphs. Runs unchanged on any CUDA machine
# with the package importable:
#     bash benchmarks/gpu_check.sh 2>&1 | tee gpu_check.log
# Each step has its own time limit (STEP_TIMEOUT, seconds), so one slow or failing
# step costs its own figures only; the exit code counts the steps that failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VSR=(-c "from vsr_cli.cli import vsr_main; vsr_main()")  # `vsr`, installed or not
LIMIT=${STEP_TIMEOUT:-150}
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

step "reference vectors on the GPU" $PY benchmarks/golden_check.py --device cuda
step "reference vectors, compiled steps, fp16" \
    $PY benchmarks/golden_check.py --device cuda --compile --precision fp16
step "each SDPA backend on the model's strided q/k/v and shared bias, fp16, 320x180" \
    $PY benchmarks/attention_backends.py --device cuda --precision fp16
step "attention backend, ops per frame" \
    $PY benchmarks/op_count.py --device cuda --precision fp16 --frames 4 --require-fused
for precision in fp16 fp32; do
    step "model + end to end, $precision, 320x180 -> 1280x720" \
        $PY "${VSR[@]}" bench --size 320x180 --frames 12 --repeats 2 --device cuda \
        --precision $precision --pipeline
done
step "fp16 and bf16 against fp32 (synthetic clip, random weights)" \
    $PY benchmarks/precision.py --device cuda --size 320x180 --frames 10
step "--tile-batch 1 vs 4, 640x360, tiles of 128" \
    $PY benchmarks/tile_batch.py --device cuda --precision fp16 --size 640x360 --tile 128 \
    --frames 6 --batches 1 4
step "1080p -> 4320p and -> 2160p (--scale 2) with automatic tile and chunk sizes (random weights)" bash -c "
    set -e; tmp=\$(mktemp -d)
    $PY -c 'import sys; from pathlib import Path; from safetensors.torch import save_file
from vsr_cli.bench import write_synthetic_clip; from vsr_cli.models.psrt import PSRTRecurrent
save_file(PSRTRecurrent().state_dict(), sys.argv[2])
write_synthetic_clip(Path(sys.argv[1]), 3, 1920, 1080)' \$tmp/in.mkv \$tmp/w.safetensors
    $PY -c 'import torch; from vsr_cli.infer.backend import free_memory; from vsr_cli.infer.plan import auto_sizes
budget = free_memory(torch.device(\"cuda\"))
print(f\"budget {budget >> 20} MiB; (tile, chunk) at 1080p:\", *(f\"x{s} {auto_sizes(1920, 1080, budget, 16, 4, s)}\" for s in (4, 2)))'
    for scale in 4 2; do
        $PY -m vsr_cli \$tmp/in.mkv \$tmp/out\$scale.mkv --weights \$tmp/w.safetensors \
            --device cuda --scale \$scale --codec ffv1 --json 2>&1 | grep -v '\"progress\"'
        $PY -c 'from vsr_cli.cli import vsr_main; vsr_main()' info \$tmp/out\$scale.mkv
    done
    rm -rf \$tmp"
step "compiled vs eager, fp16" \
    $PY "${VSR[@]}" bench --size 320x180 --frames 12 --repeats 2 --device cuda --precision fp16 --compile
step "compiled with CUDA graphs vs eager, fp16 (experimental)" \
    $PY "${VSR[@]}" bench --size 320x180 --frames 12 --repeats 2 --device cuda --precision fp16 \
    --cuda-graphs

printf '\n== %d step(s) failed\n' "$failures"
exit "$failures"
