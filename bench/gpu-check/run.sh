#!/usr/bin/env bash
# The SaeGuard device check. Runs bench/gpu-check/publish/gpu-check (self-contained linux-x64, no
# .NET needed); publishes it first when it is missing and a .NET SDK is present.
# Prints one JSON line (device, kernel and encode checks vs the CPU backend, SGEMM GFLOP/s, training and encode tokens/s).
# Arguments go to gpu-check: [--device cuda|ilgpu-cpu] [--steps N] [--check-only] [--small].
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/publish/gpu-check"
if [ ! -x "$bin" ]; then
  if command -v dotnet >/dev/null 2>&1; then
    dotnet publish "$here/GpuCheck.csproj" -c Release -o "$here/publish" >&2
  else
    echo "gpu-check: no prebuilt $bin and no .NET SDK to publish it; publish on a machine with the SDK (see docs/GPU.md) and copy bench/gpu-check/publish here." >&2
    exit 2
  fi
fi
exec "$bin" "$@"
