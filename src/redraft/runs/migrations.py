"""Ordered schema migrations for the run store; applied names are kept in the database.

Add a new function at the end for every schema change; never edit an applied one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


def migrate(db: sqlite3.Connection) -> None:
    db.execute("create table if not exists _redraft_migrations (name text primary key, applied_at text)")
    applied = {row[0] for row in db.execute("select name from _redraft_migrations")}
    for fn in MIGRATIONS:
        if fn.__name__ in applied:
            continue
        with db:
            fn(db)
            db.execute(
                "insert into _redraft_migrations (name, applied_at) values (?, ?)",
                (fn.__name__, datetime.now(UTC).isoformat()),
            )


@migration
def m001_runs_calls_candidates(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        create table runs (
            id text primary key,
            created_at text not null,
            strategy text not null,
            strategy_json text not null,
            models_json text not null,
            problem_id text,
            prompt text not null,
            reference text,
            status text not null,
            answer text,
            final_text text,
            stop_reason text,
            error text,
            oracle integer not null default 0,
            calls integer not null default 0,
            prompt_tokens integer not null default 0,
            completion_tokens integer not null default 0,
            wall_s real,
            usage_by_role_json text
        );
        create table calls (
            run_id text not null references runs(id),
            seq integer not null,
            role text not null,
            model text not null,
            messages_json text not null,
            sampling_json text not null,
            output text,
            finish_reason text,
            prompt_tokens integer,
            completion_tokens integer,
            latency_ms integer,
            attempts integer,
            cached integer,
            error text,
            created_at text not null,
            primary key (run_id, seq)
        );
        create table candidates (
            run_id text not null references runs(id),
            seq integer not null,
            round integer not null,
            kind text not null,
            text text not null,
            answer text,
            feedback text,
            verdict text,
            score real,
            parent integer,
            metadata_json text,
            primary key (run_id, seq)
        );
        create index runs_created on runs(created_at);
        """
    )


@migration
def m002_call_outputs(db: sqlite3.Connection) -> None:
    """Requests with n > 1 return several outputs."""
    db.execute("alter table calls add column outputs_json text")


@migration
def m003_evaluations(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        create table evals (
            id text primary key,
            created_at text not null,
            task text not null,
            strategies_json text not null,
            config_json text not null,
            status text not null,
            wall_s real not null default 0
        );
        create table eval_items (
            eval_id text not null references evals(id),
            strategy text not null,
            problem_id text not null,
            problem_index integer not null,
            run_id text references runs(id),
            status text not null,
            correct integer,
            answer text,
            reference text,
            oracle integer not null default 0,
            calls integer not null default 0,
            prompt_tokens integer not null default 0,
            completion_tokens integer not null default 0,
            wall_s real not null default 0,
            details_json text,
            error text,
            created_at text not null,
            primary key (eval_id, strategy, problem_id)
        );
        """
    )


@migration
def m004_candidate_links(db: sqlite3.Connection) -> None:
    db.execute("alter table candidates add column call_seq integer")
    db.execute("alter table candidates add column stage text")
    db.execute("alter table runs add column judge_usage_json text")
