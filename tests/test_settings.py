"""Settings: defaults, CLASSROOM_* variables, overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.edge.settings import IceServer, Settings, parse_ice_server


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.1", 8080, Path("./var"))
    assert settings.max_on_stage == 2 and settings.token_ttl_s == 8 * 3600


def test_environment_variables_are_read() -> None:
    env = {
        "CLASSROOM_HOST": "0.0.0.0",
        "CLASSROOM_PORT": "9000",
        "CLASSROOM_DATA_DIR": "/srv/classroom",
        "CLASSROOM_ICE_SERVERS": "stun:stun.example.org:3478, turn:u:p@turn.example.org:3478?transport=tcp",
        "CLASSROOM_MAX_ON_STAGE": "4",
        "CLASSROOM_LOG_LEVEL": "DEBUG",
        "CLASSROOM_PUBLIC_URL": "https://class.example.org",
    }
    settings = Settings.from_env(env)
    assert settings.host == "0.0.0.0" and settings.port == 9000
    assert settings.data_dir == Path("/srv/classroom")
    assert settings.ice_servers == ("stun:stun.example.org:3478", "turn:u:p@turn.example.org:3478?transport=tcp")
    assert settings.max_on_stage == 4 and settings.log_level == "debug"
    assert settings.public_url == "https://class.example.org"


def test_overrides_win_over_environment_and_none_overrides_are_ignored() -> None:
    env = {"CLASSROOM_PORT": "9000", "CLASSROOM_HOST": "0.0.0.0"}
    settings = Settings.from_env(env, port=7000, host=None)
    assert settings.port == 7000 and settings.host == "0.0.0.0"


@pytest.mark.parametrize(
    "variable,value",
    [
        ("CLASSROOM_PORT", "eighty"),
        ("CLASSROOM_PORT", "70000"),
        ("CLASSROOM_MAX_ON_STAGE", "-1"),
        ("CLASSROOM_LOG_LEVEL", "loud"),
        ("CLASSROOM_ICE_SERVERS", "http://stun.example.org"),
        ("CLASSROOM_ICE_SERVERS", "stun:user:pass@stun.example.org"),
        ("CLASSROOM_DATA_DIR", "  "),
    ],
)
def test_bad_value_raises_value_error_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({variable: value})


def test_bad_override_raises_value_error_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="port"):
        Settings.from_env({}, port=-5)


def test_unknown_override_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="colour"):
        Settings.from_env({}, colour="red")


def test_ice_server_entries_split_turn_credentials() -> None:
    settings = Settings(
        ice_servers=("stun:stun.example.org:3478", "turn:bob:s%40cret@turn.example.org:443?transport=tcp")
    )
    assert settings.ice_server_entries() == (
        IceServer("stun:stun.example.org:3478"),
        IceServer("turn:turn.example.org:443?transport=tcp", "bob", "s@cret"),
    )


def test_ice_server_json_omits_missing_credentials() -> None:
    assert parse_ice_server("stun:s.example.org").to_json() == {"urls": "stun:s.example.org"}
    assert parse_ice_server("turns:a:b@t.example.org").to_json() == {
        "urls": "turns:t.example.org",
        "username": "a",
        "credential": "b",
    }


def test_turn_credentials_without_password_are_refused() -> None:
    with pytest.raises(ValueError, match="user:pass@host"):
        parse_ice_server("turn:bob@turn.example.org")


def test_media_workers_default_to_the_cores_and_read_their_variable() -> None:
    import os

    assert Settings().media_workers == min(64, os.cpu_count() or 1)
    assert Settings.from_env({"CLASSROOM_MEDIA_WORKERS": "0"}).media_workers == 0
    with pytest.raises(ValueError, match="CLASSROOM_MEDIA_WORKERS"):
        Settings.from_env({"CLASSROOM_MEDIA_WORKERS": "-1"})
