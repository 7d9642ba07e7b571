"""read_checkpoint reads the authors' files and ours, and never runs code."""

from __future__ import annotations

import collections

import pytest
import torch
from safetensors.torch import save_file

from vsr_cli.errors import CheckpointError
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.weights import read_checkpoint


@pytest.fixture()
def official_state(golden_model) -> dict[str, torch.Tensor]:
    """What the authors' ``torch.save`` holds: every parameter and buffer."""
    return golden_model.state_dict()


def _outputs(model: PSRTRecurrent) -> torch.Tensor:
    torch.manual_seed(3)
    with torch.inference_mode():
        return model.eval()(torch.rand(1, 3, 3, 64, 64))


def test_official_pth_round_trips(tmp_path, golden_model, official_state):
    path = tmp_path / "PSRT_REDS.pth"
    torch.save({"params": official_state}, path)
    state = read_checkpoint(path)
    assert state.keys() == official_state.keys()
    assert torch.equal(_outputs(PSRTRecurrent.from_state_dict(state)), _outputs(golden_model))


def test_params_ema_is_preferred(tmp_path, golden_model, official_state):
    noise = {
        k: torch.randn_like(v) if v.is_floating_point() else v for k, v in official_state.items()
    }
    path = tmp_path / "train.pth"
    torch.save({"params": noise, "params_ema": official_state}, path)
    model = PSRTRecurrent.from_state_dict(read_checkpoint(path))
    assert torch.equal(_outputs(model), _outputs(golden_model))


def test_bare_dataparallel_state_dict_and_safetensors(tmp_path, golden_model, official_state):
    bare = tmp_path / "bare.pt"
    torch.save(collections.OrderedDict((f"module.{k}", v) for k, v in official_state.items()), bare)
    st = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in official_state.items()}, st)
    expected = _outputs(golden_model)
    for path in (bare, st):
        assert torch.equal(_outputs(PSRTRecurrent.from_state_dict(read_checkpoint(path))), expected)


class Payload:
    """Unpickling this would call os.system: a weights file must never get that far."""

    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def test_pickled_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    torch.save({"params": {"patch_align.x": torch.zeros(1)}, "x": Payload()}, path)
    with pytest.raises(CheckpointError, match="refusing to unpickle code"):
        read_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, not weights\n", "not a PyTorch or safetensors weights file"),
        (None, "not a PSRT-recurrent checkpoint"),
    ],
)
def test_other_files_get_one_sentence(tmp_path, content, message):
    path = tmp_path / "weights.pth"
    if content is None:
        torch.save({"params": {"conv.weight": torch.zeros(3, 3)}}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    assert message in str(info.value)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such weights file"):
        read_checkpoint(tmp_path / "absent.pth")
