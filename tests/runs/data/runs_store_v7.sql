-- A run store as written by redraft with migrations m001-m007, before recorded studies (m008): one
-- evaluation (direct on multiarith/0, scripted model), made by that redraft plus sqlite3 iterdump().
BEGIN TRANSACTION;
CREATE TABLE _redraft_migrations (name text primary key, applied_at text);
INSERT INTO "_redraft_migrations" VALUES('m001_runs_calls_candidates','2026-12-02T03:32:59.524243+00:00');
INSERT INTO "_redraft_migrations" VALUES('m002_call_outputs','2026-12-02T03:32:59.524531+00:00');
INSERT INTO "_redraft_migrations" VALUES('m003_evaluations','2026-12-02T03:32:59.524752+00:00');
INSERT INTO "_redraft_migrations" VALUES('m004_candidate_links','2026-12-02T03:32:59.525276+00:00');
INSERT INTO "_redraft_migrations" VALUES('m005_call_stage','2026-12-02T03:32:59.525509+00:00');
INSERT INTO "_redraft_migrations" VALUES('m006_picks','2026-12-02T03:32:59.525660+00:00');
INSERT INTO "_redraft_migrations" VALUES('m007_owners','2026-12-02T03:32:59.525988+00:00');
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
            created_at text not null, outputs_json text, stage text,
            primary key (run_id, seq)
        );
INSERT INTO "calls" VALUES('8de77b894382',1,'generator','scripted','[{"role": "user", "content": "Solve the following math problem. Reason step by step, showing your work. Then finish with a final line of the form \"The answer is N.\" where N is only the number (no units or currency signs).\n\nProblem: For Halloween Debby and her sister combined the candy they received. Debby had 32 pieces of candy while her sister had 42. If they ate 35 pieces the first night, how many pieces do they have left?"}]','{"temperature": 0.0, "max_tokens": 512}','The answer is 7.','stop',74,4,0,1,0,NULL,'2026-12-02T03:32:59.538+00:00',NULL,NULL);
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
            metadata_json text, call_seq integer, stage text,
            primary key (run_id, seq)
        );
INSERT INTO "candidates" VALUES('8de77b894382',2,0,'draft','The answer is 7.','7',NULL,NULL,NULL,NULL,'{}',1,NULL);
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
INSERT INTO "eval_items" VALUES('e22976044c81','direct','multiarith/0',0,'8de77b894382','done',0,'7','39',0,1,74,4,8.04105000497656874358e-04,'{"round_correct": [false], "round_scores": [null], "samples": [], "stop_reason": "done", "judge_calls": 0, "judge_tokens": 0, "verdicts_judged": 0, "verdicts_unknown": 0, "calls_by_role": {"generator": 1}, "truncated_by_role": {"generator": 0}, "self_graded": false}',NULL,'2026-12-02T03:32:59.539+00:00');
CREATE TABLE evals (
            id text primary key,
            created_at text not null,
            task text not null,
            strategies_json text not null,
            config_json text not null,
            status text not null,
            wall_s real not null default 0
        , owner text);
INSERT INTO "evals" VALUES('e22976044c81','2026-12-02T03:32:59.536+00:00','multiarith','["direct"]','{"task": "multiarith", "strategies": ["direct"], "generator": {"model": null, "base_url": null, "timeout_s": 120.0, "max_retries": 4, "concurrency": 16, "constrained": null, "key_from_env": true}, "roles": {}, "limit": 1, "seed": null, "concurrency": 4, "budget_calls": null, "budget_tokens": null, "temperature": 0.0, "max_tokens": 512, "params": {}, "cache": true, "calibration": {}}','done',2.45041999914974439889e-03,NULL);
CREATE TABLE picks (
            run_id text not null references runs(id),
            round integer not null,
            candidate_seq integer,
            text text not null,
            answer text,
            score real,
            stage text,
            primary key (run_id, round)
        );
INSERT INTO "picks" VALUES('8de77b894382',0,2,'The answer is 7.','7',NULL,NULL);
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
        , judge_usage_json text, owner text);
INSERT INTO "runs" VALUES('8de77b894382','2026-12-02T03:32:59.537+00:00','direct','{"name": "direct", "params": {"temperature": null}, "feedback": null, "drafter": null}','{"generator": "scripted"}','multiarith/0','Solve the following math problem. Reason step by step, showing your work. Then finish with a final line of the form "The answer is N." where N is only the number (no units or currency signs).

Problem: For Halloween Debby and her sister combined the candy they received. Debby had 32 pieces of candy while her sister had 42. If they ate 35 pieces the first night, how many pieces do they have left?','39','done','7','The answer is 7.','done',NULL,0,1,74,4,8.04105000497656874358e-04,'{"generator": {"calls": 1, "prompt_tokens": 74, "completion_tokens": 4, "latency_s": 0.0}}',NULL,'19528@vm#dc09e4721027906/4a52c82d');
CREATE INDEX runs_created on runs(created_at);
COMMIT;
