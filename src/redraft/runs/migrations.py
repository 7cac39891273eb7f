"""The run store's schema, as numbered migrations (see `redraft.migrations`).

Add a new function at the end for every schema change; never edit an applied one.
"""

from __future__ import annotations

import sqlite3

from redraft.migrations import Migrations, execute_script

migrations = Migrations("run store")
MIGRATIONS = migrations  # the name earlier code imported


def migrate(db: sqlite3.Connection) -> list[str]:
    """Bring a run store up to date; returns the migrations applied now."""
    return migrations.apply(db)


@migrations.register
def m001_runs_calls_candidates(db: sqlite3.Connection) -> None:
    execute_script(
        db,
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


@migrations.register
def m002_call_outputs(db: sqlite3.Connection) -> None:
    """Requests with n > 1 return several outputs."""
    db.execute("alter table calls add column outputs_json text")


@migrations.register
def m003_evaluations(db: sqlite3.Connection) -> None:
    execute_script(
        db,
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


@migrations.register
def m004_candidate_links(db: sqlite3.Connection) -> None:
    """Which call produced a candidate's text and its stage in a composition; judge usage apart.

    `candidates.call_seq` is the seq of the call whose output is the candidate's text,
    `candidates.stage` its stage in a composed strategy, and `runs.judge_usage_json`
    the usage of judge and scoring calls, kept out of the method's own cost. All
    nullable: rows written before this migration have none of them.
    """
    execute_script(
        db,
        """
        alter table candidates add column call_seq integer;
        alter table candidates add column stage text;
        alter table runs add column judge_usage_json text;
        """,
    )


@migrations.register
def m005_call_stage(db: sqlite3.Connection) -> None:
    """A call's stage in a composed strategy, as its candidates have (None: the outer strategy)."""
    execute_script(db, "alter table calls add column stage text;")


@migrations.register
def m006_picks(db: sqlite3.Connection) -> None:
    """Each round's pick, as the strategy made it while it ran (see `redraft.trace.Pick`).

    Kept in their own table, one row per (run, round): the evaluation scores these for
    accuracy-by-round and flips instead of re-deriving them from candidates changed later.
    """
    execute_script(
        db,
        """
        create table picks (
            run_id text not null references runs(id),
            round integer not null,
            candidate_seq integer,
            text text not null,
            answer text,
            score real,
            stage text,
            primary key (run_id, round)
        );
        """,
    )


@migrations.register
def m007_owners(db: sqlite3.Connection) -> None:
    """Who runs a run or an evaluation (`PID@HOST#START/TOKEN`, see `redraft.runs.owner`).

    A `running` row whose owner is dead (SIGKILL, OOM, power cut) is marked `interrupted` the
    next time the store is listed or resumed; `evals.owner` is also the evaluation's lease, so
    a second process cannot resume an evaluation that is still running. NULL on rows written
    before this migration, and on an evaluation nobody holds.
    """
    execute_script(
        db,
        """
        alter table runs add column owner text;
        alter table evals add column owner text;
        """,
    )


@migrations.register
def m008_replications(db: sqlite3.Connection) -> None:
    """Recorded studies (`redraft replicate`): one row per run of a study, and its evaluations.

    `replications` keeps what ran (the study, the task, its settings with the models in words and
    no credentials) and, once it finished, its `StudyResult` as JSON, so the claims table and the
    HTML report can be shown again without rerunning anything. `replication_evals` links each
    evaluation to the replication that ran it, in the order they ran (indexed by evaluation, so
    `redraft evals show` can say which study an evaluation belongs to). Both are new tables: no
    row written before this migration changes.
    """
    execute_script(
        db,
        """
        create table replications (
            id text primary key,
            created_at text not null,
            study text not null,
            task text not null,
            settings_json text not null,
            status text not null,
            result_json text,
            error text,
            owner text,
            wall_s real not null default 0
        );
        create table replication_evals (
            replication_id text not null references replications(id),
            eval_id text not null references evals(id),
            position integer not null,
            primary key (replication_id, eval_id)
        );
        create index replication_evals_by_eval on replication_evals(eval_id);
        create index replications_created on replications(created_at);
        """,
    )
