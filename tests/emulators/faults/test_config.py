"""The fault configuration: JSON and objects, merging of method rules, and refusals that name the field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from livehandoff.emulators.dialogflow.faults import DialogflowFaultConfig, load_dialogflow_faults
from livehandoff.emulators.faults import CallRule, FaultConfigError, Latency
from livehandoff.emulators.livechat import ApiFaults, FaultConfig, WebhookFaults, load_faults

EXAMPLE: dict[str, Any] = {
    "seed": 7,
    "api": {
        "default": {
            "error_rate": 0.05,
            "errors": ["internal", "service_unavailable"],
            "rate_limit_rate": 0.02,
            "retry_after": 1,
            "latency_ms": {"min": 0, "max": 50},
            "timeout_rate": 0.01,
        },
        "methods": {"send_event": {"error_rate": 0.1}, "start_chat": {"timeout_after_apply": True}},
    },
    "accounts": {"error_rate": 0.02},
    "webhooks": {
        "duplicate_rate": 0.1,
        "reorder_rate": 0.1,
        "delay_ms": {"min": 0, "max": 500},
        "drop_rate": 0.05,
    },
}


def test_the_documented_example_reads_and_method_rules_are_merged_over_the_default():
    config = FaultConfig.from_dict(EXAMPLE)
    send_event = config.api.rule("send_event")
    assert send_event.error_rate == 0.1
    assert send_event.latency == Latency(0, 50)
    assert send_event.rate_limit_rate == 0.02
    assert config.api.rule("start_chat").timeout_after_apply
    assert config.api.rule("get_chat") == config.api.default
    assert config.agent_api == ApiFaults()
    assert config.accounts.error_rate == 0.02
    assert config.webhooks.delay == Latency(0, 500)


def test_json_form_reads_back_to_an_equal_configuration():
    config = FaultConfig.from_dict(EXAMPLE)
    assert FaultConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_objects_build_the_same_configuration():
    default = CallRule(error_rate=0.5, latency=Latency(5, 5))
    config = FaultConfig(
        seed=3,
        api=ApiFaults(default, {"send_event": dataclasses.replace(default, error_rate=1.0)}),
        webhooks=WebhookFaults(duplicate_rate=1.0),
    )
    assert FaultConfig.from_dict(config.to_dict()) == config
    with pytest.raises(TypeError):
        config.api.methods["start_chat"] = default  # type: ignore[index]


def test_a_number_is_a_fixed_latency_and_an_empty_configuration_injects_nothing():
    config = FaultConfig.from_dict({"api": {"default": {"latency_ms": 30}}})
    assert config.api.default.latency == Latency(30, 30)
    assert FaultConfig.from_dict({}) == FaultConfig()
    assert FaultConfig().webhooks.quiet


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"api": {"default": {"eror_rate": 0.1}}}, "api.default: unknown keys ['eror_rate']"),
        ({"api": {"default": {"error_rate": 1.5}}}, "api.default: error_rate: must be a number from 0 to 1"),
        ({"api": {"default": {"error_rate": True}}}, "api.default.error_rate: must be a number"),
        (
            {"api": {"default": {"error_rate": 0.6, "timeout_rate": 0.5}}},
            "api.default: error_rate + rate_limit_rate + timeout_rate: must not exceed 1",
        ),
        ({"api": {"methods": {"send_evnt": {}}}}, "api.methods: unknown methods ['send_evnt']"),
        (
            {"api": {"methods": {"send_event": {"errors": ["boom"]}}}},
            "api.methods.send_event.errors: unknown",
        ),
        (
            {"agent_api": {"default": {"latency_ms": {"min": 9, "max": 1}}}},
            "agent_api.default.latency_ms: need",
        ),
        ({"accounts": {"errors": ["internal"]}}, "accounts.errors: unknown ['internal']"),
        ({"accounts": {"retry_after": 1.5}}, "accounts.retry_after: must be an integer"),
        ({"webhooks": {"drop_attempts": 0}}, "webhooks.drop_attempts: must be an integer >= 1"),
        ({"webhooks": {"drop_rate": -0.1}}, "webhooks.drop_rate: must be a number from 0 to 1"),
        ({"chaos": True}, "top level: unknown keys ['chaos']"),
        ({"seed": "7"}, "seed: must be an integer"),
        ([], "the fault configuration: must be a JSON object"),
    ],
)
def test_refusals_name_the_field(data, message):
    with pytest.raises(FaultConfigError) as caught:
        FaultConfig.from_dict(data)
    assert str(caught.value).startswith(message), str(caught.value)


def test_objects_are_checked_too():
    with pytest.raises(FaultConfigError, match="error_rate"):
        CallRule(error_rate=2)
    with pytest.raises(FaultConfigError, match="unknown methods"):
        FaultConfig(api=ApiFaults(methods={"nope": CallRule()}))
    with pytest.raises(FaultConfigError, match="hang_seconds"):
        CallRule(hang_seconds=0)


def test_files_are_read_and_bad_ones_named(tmp_path: Path):
    good = tmp_path / "faults.json"
    good.write_text(json.dumps(EXAMPLE))
    assert load_faults(good) == FaultConfig.from_dict(EXAMPLE)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(FaultConfigError, match=r"bad\.json"):
        load_faults(bad)


def test_dialogflow_configuration_is_flat_and_has_no_rate_limit(tmp_path: Path):
    data = {"seed": 2, "error_rate": 0.2, "errors": ["unavailable"], "latency_ms": {"min": 1, "max": 2}}
    config = DialogflowFaultConfig.from_dict(data)
    assert config.detect_intent.errors == ("unavailable",)
    assert DialogflowFaultConfig.from_dict(config.to_dict()) == config
    path = tmp_path / "bot.json"
    path.write_text(json.dumps(data))
    assert load_dialogflow_faults(path) == config
    with pytest.raises(FaultConfigError, match=r"unknown keys \['rate_limit_rate'\]"):
        DialogflowFaultConfig.from_dict({"rate_limit_rate": 0.1})
    with pytest.raises(FaultConfigError, match=r"dialogflow\.errors: unknown \['service_unavailable'\]"):
        DialogflowFaultConfig.from_dict({"errors": ["service_unavailable"]})
