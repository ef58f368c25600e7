"""The machine a benchmark ran on, for the figures it prints: CPU model and SIMD flags."""

import platform
from pathlib import Path

# The instruction sets onnxruntime's and torch's CPU kernels pick between: figures from machines that differ
# here (AVX2 only vs AVX-512 with VNNI or AMX) must never be compared.
SIMD_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8")


def cpu_name() -> str:
    """The CPU model and the SIMD flags that matter for inference, e.g. "AMD EPYC [avx2]"."""
    name, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return f"{name} [{' '.join(f for f in SIMD_FLAGS if f in flags) or 'no AVX2'}]"
