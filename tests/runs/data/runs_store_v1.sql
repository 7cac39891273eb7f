-- A run store as written by redraft before store v2 (migrations m001-m003, one run, one candidate).
-- Made by the old redraft.runs.migrations.migrate plus two inserts, then sqlite3 iterdump().
BEGIN TRANSACTION;
CREATE TABLE _redraft_migrations (name text primary key, applied_at text);
INSERT INTO "_redraft_migrations" VALUES('m001_runs_calls_candidates','2026-12-01T20:25:57.855085+00:00');
INSERT INTO "_redraft_migrations" VALUES('m002_call_outputs','2026-12-01T20:25:57.856898+00:00');
INSERT INTO "_redraft_migrations" VALUES('m003_evaluations','2026-12-01T20:25:57.859735+00:00');
CREATE TABLE calls (
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
            created_at text not null, outputs_json text,
            primary key (run_id, seq)
        );
CREATE TABLE candidates (
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
INSERT INTO "candidates" VALUES('legacyrun0001',0,0,'draft','4','4',NULL,NULL,NULL,NULL,'{}');
CREATE TABLE eval_items (
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
CREATE TABLE evals (
            id text primary key,
            created_at text not null,
            task text not null,
            strategies_json text not null,
            config_json text not null,
            status text not null,
            wall_s real not null default 0
        );
CREATE TABLE runs (
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
INSERT INTO "runs" VALUES('legacyrun0001','2025-01-01T00:00:00.000+00:00','self_refine','{"name": "self_refine"}','{"generator": "scripted"}','p1','What is 2 + 2?','4','running',NULL,NULL,NULL,NULL,0,0,0,0,NULL,NULL);
CREATE INDEX runs_created on runs(created_at);
COMMIT;
