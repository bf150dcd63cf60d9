"""Model validation: every stored figure and shape is checked before it is saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import Role, has_role
from cameras.models import Camera, CountingLine, Zone


@pytest.fixture
def camera(db) -> Camera:
    return Camera.objects.create(name="Gate A", source_type="file", source="uploads/a.mp4")


def test_camera_defaults_are_the_product_defaults(camera):
    assert camera.area_m2 == 100.0
    assert camera.capacity == 500
    assert camera.desired_state == "stopped"
    assert camera.status == "stopped"
    assert camera.is_calibrated is False


@pytest.mark.parametrize(
    "field, value",
    [
        ("area_m2", 0.0),
        ("area_m2", -5),
        ("capacity", 0),
        ("target_fps", 0.1),
        ("target_fps", 120),
        ("source_type", "ftp"),
    ],
)
def test_camera_rejects_bad_figures(camera, field, value):
    setattr(camera, field, value)
    with pytest.raises(ValidationError) as exc:
        camera.full_clean()
    assert field in exc.value.message_dict


def test_calibration_needs_four_matching_pairs(camera):
    camera.calibration_image_points = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]
    camera.calibration_world_points = [[0, 0], [10, 0], [10, 10]]
    with pytest.raises(ValidationError, match="at least 4 point pairs"):
        camera.full_clean()
    camera.calibration_image_points.append([0.1, 0.9])
    with pytest.raises(ValidationError, match="one ground point for every image point"):
        camera.full_clean()
    camera.calibration_world_points.append([0, 10])
    camera.full_clean()  # now valid


def test_calibration_image_points_must_be_normalised(camera):
    camera.calibration_image_points = [[0.1, 0.1], [1.5, 0.1], [0.9, 0.9], [0.1, 0.9]]
    camera.calibration_world_points = [[0, 0], [10, 0], [10, 10], [0, 10]]
    with pytest.raises(ValidationError, match="outside the frame"):
        camera.full_clean()


@pytest.mark.parametrize(
    "polygon, message",
    [
        ([[0.1, 0.1], [0.5, 0.5]], "between 3 and 100"),
        ([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]], "encloses no area"),
        ([[0.1, 0.1], [0.9, 0.1], ["a", 0.5]], "two finite numbers"),
        ("not a list", "list of"),
        ([[0.1, 0.1], [1.2, 0.1], [0.5, 0.9]], "outside the frame"),
    ],
)
def test_zone_polygon_validation(camera, polygon, message):
    zone = Zone(camera=camera, name="Z", polygon=polygon)
    with pytest.raises(ValidationError, match=message):
        zone.full_clean()


def test_zone_thresholds_must_rise(camera):
    zone = Zone(
        camera=camera,
        name="Z",
        polygon=[[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]],
        density_warning=5,
        density_critical=3,
    )
    with pytest.raises(ValidationError, match="critical density must be above"):
        zone.full_clean()
    zone.density_critical = 6
    zone.full_clean()


def test_zone_names_are_unique_per_camera(camera):
    Zone.objects.create(camera=camera, name="Pit", polygon=[[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]])
    duplicate = Zone(camera=camera, name="Pit", polygon=[[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]])
    with pytest.raises(ValidationError):
        duplicate.full_clean()


@pytest.mark.parametrize(
    "points, message",
    [([[0.1, 0.1]], "exactly 2 points"), ([[0.5, 0.5], [0.501, 0.5]], "must be apart")],
)
def test_counting_line_validation(camera, points, message):
    line = CountingLine(camera=camera, name="L", points=points)
    with pytest.raises(ValidationError, match=message):
        line.full_clean()


def test_staff_status_follows_the_role(make_user):
    viewer = make_user("v1", Role.VIEWER)
    admin = make_user("a1", Role.ADMIN)
    assert (viewer.is_staff, admin.is_staff) == (False, True)
    viewer.role = Role.ADMIN
    viewer.save()
    viewer.refresh_from_db()
    assert viewer.is_staff is True


def test_role_ranks(make_user):
    viewer, operator, admin = (make_user(f"u{r}", r) for r in (Role.VIEWER, Role.OPERATOR, Role.ADMIN))
    assert [has_role(u, Role.OPERATOR) for u in (viewer, operator, admin)] == [False, True, True]
    assert [has_role(u, Role.ADMIN) for u in (viewer, operator, admin)] == [False, False, True]
    admin.is_active = False
    assert has_role(admin, Role.VIEWER) is False
