"""The service's one typed Settings object. Every knob is an ``OUTAGE_`` environment variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from service import bundled


class Settings(BaseSettings):
    """Configuration read from the environment (prefix ``OUTAGE_``); docs/configuration.md is
    generated from these fields (``make docs``)."""

    model_config = SettingsConfigDict(env_prefix="OUTAGE_", frozen=True)

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/coordinator.db",
        description="The database, as an SQLAlchemy async URL: sqlite+aiosqlite:///FILE (a "
        "relative FILE is from the working directory) or postgresql+asyncpg://USER@HOST/DB",
    )
    playbooks_dir: Path = Field(
        default_factory=bundled.playbooks_dir,
        description="Folder holding the playbook YAML files (grids, thresholds, agencies, "
        "checklists, drills); by default the ones shipped inside the package, which in an "
        "editable install are the checkout's playbooks/",
    )
    var_dir: Path = Field(
        default=Path("var"),
        description="Where serve writes the bootstrap admin token (admin-token) and, in metrics/ "
        "(emptied at each start), the workers' counts for /metrics; serve holds serve.lock there "
        "while it runs, and a second serve on the same folder is refused",
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified token is trusted without asking the database again; "
        "a revocation takes effect within this time. 0 disables the cache.",
    )
    future_tolerance_seconds: int = Field(
        default=300,
        ge=0,
        description="How far in the future a report's observed_at may lie (the reporter's clock "
        "may run ahead); a report further ahead is refused with 422",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=5000,
        ge=0,
        description="SQLite only: how long a writer waits for another process's write lock "
        "before the transaction is retried (and, after five tries, answered 503)",
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        description="PostgreSQL only: connections each worker keeps open, and as many again "
        "it may open at a peak",
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="PostgreSQL only: how long a worker waits for a new connection to the "
        "server before it answers 503 (the database unreachable) rather than holding the "
        "request",
    )
    worker_healthcheck_seconds: int = Field(
        default=60,
        ge=1,
        description="Under serve --workers N (N > 1), how long a worker may stay silent to "
        "its supervisor (gunicorn's worker timeout) before it is killed and replaced; 5 s "
        "(uvicorn's own health check) killed workers that were merely slow on a busy machine",
    )
    access_log: bool = Field(
        default=False,
        description="uvicorn's own access log, a line per request beside the request log; it "
        "costs throughput",
    )
    request_log: bool = Field(
        default=True,
        description="Log one structured line per request: method, path, status, duration_ms "
        "and the request's id (X-Request-ID)",
    )
    log_format: Literal["json", "console"] = Field(
        default="json",
        description="How log lines are written: one JSON object a line, or structlog's console "
        "format for a person at a terminal",
    )
    metrics: bool = Field(
        default=True,
        description="Serve GET /metrics (Prometheus text, computed at most once a second and "
        "answered at most ten times a second in each worker, however many ask) and time every "
        "request for it; false removes both",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, GET /metrics answers only a request whose Authorization header "
        "is Bearer followed by this token (compared in constant time), any other with 401; "
        "unset, it needs no token. Prometheus sends it with its scrape config's authorization "
        "(credentials or credentials_file)",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="The largest request body accepted; a larger one is refused with 413 as soon "
        "as its Content-Length, or the bytes counted so far, pass this",
    )
    max_head_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="The largest request head (request line and headers) accepted; a larger one "
        "is refused with 431 as soon as the bytes read of it pass this (outage-coordinator "
        "serve only: another server keeps its own limit)",
    )
    head_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="How long a request head (request line and headers) may take to arrive "
        "whole, from its first byte (from the connection's opening for its first request); a "
        "head still unfinished then is answered 408 and the connection closed, and a connection "
        "that sent nothing is closed (outage-coordinator serve only)",
    )
    escalation_interval_seconds: float = Field(
        default=60,
        ge=0,
        description="How often each worker looks for overdue actions and standing tasks to "
        "escalate and remind, and raises the year's standing tasks (also once at start); 0 turns "
        "both off",
    )
    remind_minutes: float = Field(
        default=30,
        gt=0,
        description="How long after an overdue action's escalation (or its last reminder) it "
        "is reminded again while still not acknowledged; fractions of a minute are allowed",
    )
    delivery_interval_seconds: float = Field(
        default=1,
        ge=0,
        description="How often each worker looks for notices to fan out and deliveries due; "
        "0 turns the deliverer off",
    )
    delivery_backoff_seconds: float = Field(
        default=10,
        gt=0,
        description="The first retry's delay; each later one doubles it (attempts at about 0, "
        "10, 20, 40 ... s, each delay +-20% at random); a receiver's Retry-After takes its place",
    )
    max_attempts: int = Field(
        default=8,
        ge=1,
        description="Attempts at a delivery, the first included, before it is dead",
    )
    delivery_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="How long one attempt waits for the receiver's answer; a claimed delivery "
        "is leased for six times this (the attempts queued before it, its own, and recording "
        "it), after which another worker may try it",
    )
    delivery_concurrency: int = Field(
        default=8,
        ge=1,
        description="Attempts in flight at once in each worker (connections of its one HTTP "
        "client); it claims up to 4 due deliveries for each. Each subscription with work gets "
        "an equal share of them (at least one), so that a slow receiver holds only its own",
    )
    delivery_max_retry_after_seconds: float = Field(
        default=3600,
        gt=0,
        description="The longest wait a receiver's Retry-After is honoured for (seconds or an "
        "HTTP date, of any size); a longer one is cut to this",
    )
    delivery_breaker_failures: int = Field(
        default=5,
        ge=1,
        description="Failed attempts in a row at one subscription (no answer in time, 3xx, "
        "4xx, 5xx, a robot's errcode) after which each worker rests it: none of its deliveries "
        "is attempted until the rest is over, then one tries it again",
    )
    delivery_breaker_seconds: float = Field(
        default=60,
        gt=0,
        description="A resting subscription's first rest; each failed try after a rest doubles "
        "it, up to delivery_max_retry_after_seconds; a delivered one ends the rests",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where people reach the service; the WeCom and DingTalk messages link to "
        "its /board, every CAP message's web to its public page (/public), and the public "
        "feeds' ids and links start with it",
    )
    cap_sender: str = Field(
        default="outage-coordinator@shaoxing.gov.cn",
        pattern=r"^[^\s,<&]+$",
        description="The sender of every CAP message (CAP 1.2: no spaces, commas, < or &), "
        "which receivers also use to name a message in references; changing it makes the "
        "messages already sent look like another sender's",
    )
    cap_sender_name: str | None = Field(
        default=None,
        min_length=1,
        description="The CAP messages' senderName, the name the public reads; unset, the HQ "
        "that published the warning (绍兴市大面积停电事件应急指挥部, say)",
    )
    cap_contact: str = Field(
        default="国网绍兴供电公司 95598",
        min_length=1,
        description="The CAP messages' contact: whom the public asks about the alert",
    )
    cap_lifetime_hours: float = Field(
        default=24,
        gt=0,
        description="How long a CAP message stays in force when its warning gives no expires "
        "of its own: expires is the message's sent time plus this, so each Update renews it, "
        "and a receiver that misses the Cancel still drops the alert then",
    )
    public_max_age_seconds: int = Field(
        default=30,
        ge=0,
        description="How long a browser or proxy may keep /public and its feeds without "
        "asking again (Cache-Control: public, max-age); each worker checks for a change at "
        "most once a second and renders the page once per change",
    )

    render_workers: int = Field(
        default=2,
        ge=0,
        description="Processes per worker of serve that draw the heavy pages (the evaluation "
        "report's page and PDF), so that drawing never holds the worker's event loop; started "
        "on the first such page. 0: drawn in a thread of the worker instead, which holds the "
        "loop while Python draws (the in-process test suite)",
    )
    render_queue: int = Field(
        default=8,
        ge=0,
        description="Heavy pages a worker of serve lets wait for a render process beyond those "
        "being drawn; one more is answered 503 with Retry-After",
    )
    idempotency_ttl_seconds: int = Field(
        default=86_400,
        ge=1,
        description="How long the answer to a request sent with an Idempotency-Key is kept; "
        "after that the key is forgotten and may be used again (expired answers are deleted "
        "every 10 minutes)",
    )

    @property
    def idempotency_ttl(self) -> timedelta:
        return timedelta(seconds=self.idempotency_ttl_seconds)

    @property
    def cap_lifetime(self) -> timedelta:
        return timedelta(hours=self.cap_lifetime_hours)

    @property
    def remind_every(self) -> timedelta:
        return timedelta(minutes=self.remind_minutes)

    @property
    def future_tolerance(self) -> timedelta:
        return timedelta(seconds=self.future_tolerance_seconds)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
