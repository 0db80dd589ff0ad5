-- Outputs a provider hosts itself (alugha's video and its tracks): recorded in the manifest with
-- their links, never downloaded, so they have no path, size or checksum of ours.
CREATE TABLE job_hosted_output (
    job_id        VARCHAR(40)   NOT NULL,
    language      VARCHAR(35)   NOT NULL,
    type          VARCHAR(64)   NOT NULL,
    provider_ref  VARCHAR(256)  NOT NULL,
    url           VARCHAR(2048) NOT NULL,
    detail        TEXT,
    created_at    TIMESTAMP     NOT NULL,
    PRIMARY KEY (job_id, type, provider_ref)
);
