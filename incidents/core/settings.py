"""Frozen, typed settings: `config/defaults.toml`, then the environment, then the instance file."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULTS_FILE = CONFIG_DIR / "defaults.toml"

# Environment names that deployments conventionally use without our prefix.
PLAIN_ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "tsa_url": "TSA_URL",
    "secret_key": "SECRET_KEY",
}


class SettingsError(Exception):
    """A setting is missing or has a value of the wrong type."""


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from configuration; built once, never mutated."""

    instance_path: Path
    site_name: str = "January Evidence"
    secret_key: str = ""
    database_url: str = ""
    redis_url: str = ""
    storage_backend: str = "local"
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_prefix: str = "blobs/"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    secure_cookies: bool = True
    staff_session_minutes: int = 30
    contributor_session_minutes: int = 720
    # Absolute limits: a session ends this long after sign-in however busy it is.
    staff_session_absolute_hours: int = 12
    contributor_session_absolute_days: int = 30
    api_token_days: int = 90  # a new API token expires after this
    invitation_days: int = 7
    passphrase_min_length: int = 12
    max_upload_bytes: int = 2 * 1024**3
    upload_expiry_hours: int = 24
    upload_lease_seconds: int = 30
    max_form_field_bytes: int = 1024**2
    # Any body but evidence (JSON, forms): refused with 413 before it is read past this.
    max_json_body_bytes: int = 1024**2
    max_form_parts: int = 200
    # Credential throttle per account (incidents.services.throttle): free attempts, then
    # delays doubling from the base up to the cap, in seconds.
    login_free_attempts: int = 5
    login_delay_base_seconds: int = 1
    login_delay_max_seconds: int = 300
    default_rate_limit: str = "600 per minute"
    languages: tuple[str, ...] = ("en", "ru", "kk")
    default_language: str = "en"
    display_timezone: str = "Asia/Almaty"
    research_min_cell_count: int = 3  # aggregate cells below this are shown as "<N"
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # "socket": the key agent process (`flask --app wsgi vault agent`) holds the unsealed
    # keys; "inprocess": a vault inside this process, for tests only (refused otherwise).
    vault_agent: str = "socket"
    vault_socket: str = ""  # default: <instance>/run/vault-agent.sock
    vault_share_ttl_seconds: int = 600
    checkpoint_every_events: int = 100
    checkpoint_every_minutes: int = 60
    # The background signer's period (services/signer.py); 0 turns it off (then checkpoints
    # follow checkpoint_every_events / _minutes after requests, as before).
    checkpoint_signer_seconds: float = 2.0
    # How often an RQ worker looks for jobs a dead worker left behind and queues them again
    # (incidents.services.jobs); RQ presumes a job dead ~60 s after its last heartbeat.
    job_reaper_seconds: int = 60
    # A file whose processing has not started this long after it arrived, and which RQ does
    # not hold, is queued again by the workers (its web process died before queuing it).
    job_recover_grace_seconds: int = 60
    orphan_grace_seconds: int = 3600  # blobs with no row younger than this are left alone
    custody_origin: str = "january-evidence.example/custody"
    tsa_url: str = ""
    log_ip_addresses: bool = False
    # Where "Quick exit" lands: a neutral site a witness's browser might visit anyway.
    quick_exit_url: str = "https://www.gismeteo.kz/"
    testing: bool = False

    @property
    def effective_database_url(self) -> str:
        """The configured database, or SQLite inside the instance folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_path / 'incidents.sqlite3'}"

    @property
    def key_dir(self) -> Path:
        return self.instance_path / "keys"

    @property
    def vault_socket_path(self) -> Path:
        return Path(self.vault_socket) if self.vault_socket else (
            self.instance_path / "run" / "vault-agent.sock")

    @property
    def blob_dir(self) -> Path:
        return self.instance_path / "blobs"

    @property
    def checkpoint_state_file(self) -> Path:
        return self.instance_path / "checkpoint-state.json"

    @classmethod
    def load(
        cls,
        instance_path: Path | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Build settings from defaults, then `environ`, then the instance file, then overrides."""
        env = os.environ if environ is None else environ
        instance = Path(
            instance_path or env.get("INCIDENTS_INSTANCE") or PROJECT_ROOT / "instance"
        ).resolve()
        values: dict[str, Any] = _read_toml(DEFAULTS_FILE)
        values.update(_from_environ(env))
        values.update(_read_toml(instance / "settings.toml"))
        values.update(overrides)
        values["instance_path"] = instance
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Type-check each known field; unknown names are an error, not silently ignored."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(values) - set(fields)
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            converted[name] = _convert(name, fields[name].type, value)
        return cls(**converted)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _from_environ(env: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        if f.name == "instance_path":
            continue
        plain = PLAIN_ENV_NAMES.get(f.name)
        prefixed = f"INCIDENTS_{f.name.upper()}"
        if prefixed in env:
            found[f.name] = env[prefixed]
        elif plain and plain in env:
            found[f.name] = env[plain]
    return found


def _convert(name: str, annotation: Any, value: Any) -> Any:
    kind = str(annotation)
    try:
        if kind == "Path":
            return Path(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(value)
            return text in {"1", "true", "yes", "on"}
        if kind == "int":
            return int(value)
        if kind == "float":
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(value)
            return number
        if kind.startswith("tuple"):
            if isinstance(value, str):
                return tuple(part.strip() for part in value.split(",") if part.strip())
            return tuple(value)
        return str(value)
    except (TypeError, ValueError) as e:
        raise SettingsError(f"setting {name!r} has an invalid value") from e
