-- Spend guard (issue 8): daily credit budgets per provider and per watch route, shared by
-- every replica. Portable SQL (H2 2.x and PostgreSQL).

-- One row per budget ('provider:dublab', 'route:inbox-dublab'): the row a reservation locks
-- (SELECT ... FOR UPDATE), so "does it fit?" and "take it" are one atomic step on H2 and
-- PostgreSQL alike and two replicas cannot both squeeze under the cap.
CREATE TABLE budget_scope (
    scope      VARCHAR(200) NOT NULL PRIMARY KEY,
    updated_at TIMESTAMP    NOT NULL
);

-- What a job reserved in a budget on one budget day (its estimate, taken before its first
-- billable call). What counts against the cap is worked out from the job when read: while it
-- runs, the larger of the reservation and the credits it reported; once it ended, the credits
-- it reported, else nothing if it never got submitted (a failure before any spend releases its
-- reservation), else the reservation (spent, amount unknown: counted as estimated).
CREATE TABLE budget_reservation (
    scope       VARCHAR(200)     NOT NULL,
    job_id      VARCHAR(64)      NOT NULL,
    budget_day  VARCHAR(10)      NOT NULL,
    credits     DOUBLE PRECISION NOT NULL,
    reserved_at TIMESTAMP        NOT NULL,
    PRIMARY KEY (scope, job_id)
);

CREATE INDEX ix_budget_reservation_day ON budget_reservation (scope, budget_day);
