"""Runtime settings: validated writes that running code sees without a restart."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core import runtime_settings
from core.models import RuntimeSettings
from core.runtime_settings import get_runtime_settings, update_runtime_settings


@pytest.fixture(autouse=True)
def fresh_cache():
    runtime_settings.invalidate_cache()
    yield
    runtime_settings.invalidate_cache()


def test_defaults_are_the_product_defaults(db):
    s = get_runtime_settings()
    assert (s.weight_density, s.weight_surge, s.weight_velocity) == (0.4, 0.3, 0.3)
    assert (s.boost_pressure, s.boost_coherence) == (0.6, 0.4)
    assert (s.density_caution, s.density_warning, s.density_critical) == (2.0, 4.0, 6.0)
    assert (s.risk_caution, s.risk_warning, s.risk_critical) == (0.25, 0.5, 0.75)
    assert s.alert_cooldown_s == 60
    assert (s.detector_confidence, s.detector_iou) == (0.25, 0.5)
    assert RuntimeSettings.objects.count() == 1


def test_update_is_seen_at_once_by_this_process(db, admin_user):
    get_runtime_settings()
    update_runtime_settings({"alert_cooldown_s": 120}, user=admin_user)
    assert get_runtime_settings().alert_cooldown_s == 120
    assert RuntimeSettings.objects.get().updated_by == admin_user


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"weight_density": 0.5}, "weight_velocity"),  # weights no longer sum to 1
        ({"density_warning": 7.0}, "density_critical"),  # thresholds out of order
        ({"risk_caution": 0.6}, "risk_critical"),
        ({"detector_confidence": 1.5}, "detector_confidence"),
        ({"telegram_chat_ids": "12, not-a-chat"}, "telegram_chat_ids"),
        ({"telegram_enabled": True}, "telegram_enabled"),  # no token or chats
        ({"telegram_bot_token": "no-colon"}, "telegram_bot_token"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_bad_updates_are_refused_and_nothing_is_saved(db, changes, field):
    before = get_runtime_settings().alert_cooldown_s
    with pytest.raises(ValidationError) as exc:
        update_runtime_settings({"alert_cooldown_s": 99, **changes})
    assert field in exc.value.message_dict
    runtime_settings.invalidate_cache()
    assert get_runtime_settings().alert_cooldown_s == before


def test_weights_that_sum_to_one_are_accepted(db):
    update_runtime_settings({"weight_density": 0.5, "weight_surge": 0.25, "weight_velocity": 0.25})
    assert get_runtime_settings().weight_density == 0.5


def test_token_is_masked(db):
    update_runtime_settings(
        {
            "telegram_bot_token": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "telegram_chat_ids": "-100123, 42",
            "telegram_enabled": True,
        }
    )
    s = get_runtime_settings()
    assert s.masked_token == "…WXYZ"
    assert s.chat_id_list == ["-100123", "42"]
