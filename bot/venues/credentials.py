"""Venue keys, read only from the environment and held as ``SecretStr``."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, SecretStr

from bot.errors import ConfigError


class AlpacaCredentials(BaseModel):
    """Alpaca key id and secret key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: SecretStr
    secret_key: SecretStr


class CcxtCredentials(BaseModel):
    """CCXT exchange key, secret and optional passphrase."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr
    secret: SecretStr
    password: SecretStr | None = None


def _require(env: Mapping[str, str], name: str) -> SecretStr:
    value = env.get(name, "")
    if not value:
        raise ConfigError(name, "environment variable is not set (export it before starting)")
    return SecretStr(value)


def alpaca_credentials(env: Mapping[str, str] | None = None) -> AlpacaCredentials:
    """Return Alpaca keys from ``ALPACA_API_KEY`` / ``ALPACA_SECRET_KEY``.

    Raises ConfigError naming the first missing variable.
    """
    env = os.environ if env is None else env
    return AlpacaCredentials(key_id=_require(env, "ALPACA_API_KEY"), secret_key=_require(env, "ALPACA_SECRET_KEY"))


def ccxt_credentials(env: Mapping[str, str] | None = None) -> CcxtCredentials:
    """Return CCXT keys from ``CCXT_API_KEY`` / ``CCXT_SECRET`` (+ optional ``CCXT_PASSWORD``)."""
    env = os.environ if env is None else env
    password = env.get("CCXT_PASSWORD") or None
    return CcxtCredentials(
        api_key=_require(env, "CCXT_API_KEY"),
        secret=_require(env, "CCXT_SECRET"),
        password=SecretStr(password) if password else None,
    )


def scrub(text: str, *secrets: SecretStr | None) -> str:
    """Return ``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        value = secret.get_secret_value() if secret is not None else ""
        if value:
            text = text.replace(value, "***")
    return text
