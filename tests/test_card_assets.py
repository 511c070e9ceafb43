"""Model-card figures from a run folder's log (both kinds of adversarial log)."""

from __future__ import annotations

from pathlib import Path

import pytest

from enhance.training import card_assets

HEADER = "step,phase,d_loss,gp,w_dist,d_real_p,d_fake_p,adv,val_psnr,val_perceptual\n"


@pytest.mark.parametrize("kind", ["wgan", "bce"])
def test_plot_draws_the_adversarial_curves_of_either_kind(tmp_path: Path, kind: str) -> None:
    rows = []
    for step in range(10, 110, 10):
        phase = "pretrain" if step < 50 else "gan"
        if phase == "pretrain":
            rows.append(f"{step},{phase},,,,,,,,\n")
        elif kind == "wgan":
            rows.append(f"{step},{phase},{-step / 1e3},{0.1 / step},{step / 1e3},,,-0.001,,\n")
        else:
            rows.append(f"{step},{phase},1.3,,,0.6,0.4,0.01,,\n")
        if step % 50 == 0:
            rows.append(f"{step},{phase},,,,,,,31.5,0.25\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.csv").write_text(HEADER + "".join(rows))
    path = card_assets.plot(run, tmp_path / "card")
    assert path.is_file() and path.stat().st_size > 10_000


def test_samples_copies_the_asked_steps_as_jpeg(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "run" / "samples").mkdir(parents=True)
    Image.new("RGB", (24, 16), (200, 10, 10)).save(tmp_path / "run" / "samples" / "step_0000250.png")
    (tmp_path / "card").mkdir()
    written = card_assets.samples(tmp_path / "run", tmp_path / "card", [250, 500])
    assert [p.name for p in written] == ["samples_250.jpg"]
    assert Image.open(written[0]).size == (24, 16)
