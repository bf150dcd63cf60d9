"""``analyze_video --camera``: a clip analysed as a configured camera would analyse it."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cameras.models import Camera, ExclusionArea


def _analyse(tmp_path, vtest_avi, test_model, *flags: str) -> dict:
    out = tmp_path / f"summary-{len(list(tmp_path.iterdir()))}.json"
    call_command(
        "analyze_video", str(vtest_avi), "--model", test_model, "--max-frames", "6",
        "--json", str(out), "--no-progress", *flags, stdout=StringIO(), stderr=StringIO(),
    )
    return json.loads(out.read_text())


@pytest.mark.django_db
def test_a_camera_s_exclusion_areas_area_and_tiling_apply(tmp_path, vtest_avi, test_model):
    camera = Camera.objects.create(
        name="Walkway", source_type="file", source=str(vtest_avi), area_m2=40.0, tiling_mode="off"
    )
    plain = _analyse(tmp_path, vtest_avi, test_model)
    assert plain["count"]["max"] >= 3 and plain["tiling_mode"] == "auto"

    seen = _analyse(tmp_path, vtest_avi, test_model, "--camera", str(camera.pk))
    assert seen["tiling_mode"] == "off"  # the camera's own setting
    assert not any(f["tiling"] != "off" for f in seen["frames_series"])
    assert seen["count"]["max"] == plain["count"]["max"]
    # Density over the camera's 40 m², not the default 100 m².
    for summary, area in ((plain, 100.0), (seen, 40.0)):
        first = summary["risk_timeline"][0]
        assert first["count"] >= 1 and first["density"] == pytest.approx(first["count"] / area, abs=1e-4)

    ExclusionArea.objects.create(camera=camera, name="All", polygon=[[0, 0], [1, 0], [1, 1], [0, 1]])
    masked = _analyse(tmp_path, vtest_avi, test_model, "--camera", str(camera.pk))
    assert masked["count"]["max"] == 0  # every foot point falls in the exclusion area

    overridden = _analyse(tmp_path, vtest_avi, test_model, "--camera", str(camera.pk), "--tiling", "on")
    assert overridden["tiling_mode"] == "on"


@pytest.mark.django_db
def test_bad_camera_flags_fail_with_one_line(tmp_path, vtest_avi, test_model):
    with pytest.raises(CommandError, match="No camera with ID 999999"):
        _analyse(tmp_path, vtest_avi, test_model, "--camera", "999999")
    camera = Camera.objects.create(name="Gate", source_type="file", source=str(vtest_avi), area_m2=40.0)
    with pytest.raises(CommandError, match="--area comes from the camera"):
        _analyse(tmp_path, vtest_avi, test_model, "--camera", str(camera.pk), "--area", "50")
