"""Keys come only from environment variables, are named when missing, and never printed."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.errors import ConfigError
from bot.venues.credentials import alpaca_credentials, ccxt_credentials, scrub


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "ALPACA_API_KEY"),
        ({"ALPACA_API_KEY": "k"}, "ALPACA_SECRET_KEY"),
        ({"ALPACA_API_KEY": "", "ALPACA_SECRET_KEY": "s"}, "ALPACA_API_KEY"),
    ],
)
def test_missing_alpaca_variable_is_named(env, missing) -> None:
    with pytest.raises(ConfigError) as info:
        alpaca_credentials(env)
    assert info.value.where == missing
    assert info.value.line().startswith(f"config error: {missing}: ")
    assert info.value.exit_code == 2


def test_ccxt_keys_and_optional_password() -> None:
    with pytest.raises(ConfigError, match="CCXT_SECRET"):
        ccxt_credentials({"CCXT_API_KEY": "k"})
    creds = ccxt_credentials({"CCXT_API_KEY": "k", "CCXT_SECRET": "s3cr3t"})
    assert creds.password is None and creds.secret.get_secret_value() == "s3cr3t"
    creds = ccxt_credentials({"CCXT_API_KEY": "k", "CCXT_SECRET": "s", "CCXT_PASSWORD": "pw"})
    assert creds.password.get_secret_value() == "pw"


def test_reads_os_environ(monkeypatch) -> None:
    monkeypatch.setenv("ALPACA_API_KEY", "key-id-1")
    monkeypatch.setenv("ALPACA_SECRET_KEY", "very-secret-1")
    creds = alpaca_credentials()
    assert "very-secret-1" not in repr(creds) and "very-secret-1" not in str(creds)
    assert creds.secret_key.get_secret_value() == "very-secret-1"


def test_scrub() -> None:
    assert scrub("key=abc123 and abc123", SecretStr("abc123"), None) == "key=*** and ***"
