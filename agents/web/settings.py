"""Settings of the web service (env prefix ``CAREPATH_WEB_``), next to the common
:class:`agents.settings.Settings` (broker, topics, limits). ``CAREPATH_WEB_PORT`` and
``CAREPATH_WEB_HOST`` belong to the worker's ``/metrics``, ``/healthz`` and ``/readyz``, so
this service listens on ``CAREPATH_WEB_LISTEN``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREPATH_WEB_", frozen=True, extra="ignore")

    listen: str = Field("127.0.0.1:8080", description="host:port the HTTP server binds")
    data: Path = Field(Path(".carepath/web"), description="accounts, sessions, audit, read model")
    session_idle_minutes: float = Field(30.0, gt=0, description="idle time before logout")
    session_max_hours: float = Field(12.0, gt=0, description="absolute session lifetime")
    secure_cookies: bool | None = Field(
        None, description="Secure cookie flag; unset: on when the request came over https"
    )
    poll_seconds: float = Field(2.0, gt=0, description="how often open pages look for changes")
    pending_seconds: float = Field(
        120.0,
        gt=0,
        description="after this long without a new version, a pending action "
        "shows as unanswered (look in care.deadletter)",
    )
    page_size: int = Field(100, ge=10, le=1000, description="rows per worklist page")
    oidc_issuer: str | None = Field(None, description="OpenID Connect issuer URL (optional SSO)")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_role_claim: str = Field("carepath_role", description="ID-token claim naming the role")
    oidc_redirect_url: str | None = Field(None, description="public URL of /auth/oidc/callback")
    log_level: str = "info"
