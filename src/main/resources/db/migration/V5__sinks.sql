-- Where a job delivers and what happens to its bucket source, both chosen at intake and kept
-- here so a restart (or a route edited meanwhile) finishes the job the way it started.
-- sink: NULL = the folder outbox; 's3://bucket/prefix' = the S3 sink.
-- source_object: NULL for folder sources; for bucket sources a JSON object
-- {bucket, key, etag, size, afterJob, donePrefix, failedPrefix}.
ALTER TABLE job ADD COLUMN sink VARCHAR(1024);
ALTER TABLE job ADD COLUMN source_object TEXT;
