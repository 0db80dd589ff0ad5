-- Notifications outbox: one row per job end event and target, written in the same transaction
-- as the job's end state, sent (and retried with backoff) by the notifier, so none is lost
-- across restarts. id = <job id>:<event>:<target> makes a repeated end state harmless.
CREATE TABLE notification (
    id           VARCHAR(128)  NOT NULL PRIMARY KEY,
    job_id       VARCHAR(40)   NOT NULL,
    event_type   VARCHAR(32)   NOT NULL,
    target       VARCHAR(16)   NOT NULL,
    url          VARCHAR(2048),
    state        VARCHAR(16)   NOT NULL,
    attempts     INTEGER       NOT NULL DEFAULT 0,
    next_at      TIMESTAMP     NOT NULL,
    lease_owner  VARCHAR(128),
    lease_until  TIMESTAMP,
    last_error   TEXT,
    created_at   TIMESTAMP     NOT NULL,
    sent_at      TIMESTAMP
);

CREATE INDEX ix_notification_due ON notification (state, next_at);
