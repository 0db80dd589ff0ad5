package io.dubhub.ledger;

import io.dubhub.config.HubConfig;
import io.dubhub.job.HostedOutput;
import io.dubhub.job.Job;
import io.dubhub.job.JobEvent;
import io.dubhub.job.JobOutput;
import io.dubhub.job.JobState;
import io.dubhub.job.JobTarget;
import io.dubhub.job.ProviderCall;
import io.dubhub.job.Stage;
import io.dubhub.pipeline.CrashPoints;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The only place with SQL. Every state that matters lives here, not in memory: jobs, their
 * per-language provider objects, call intents, outputs, the timeline and row leases.
 */
@ApplicationScoped
@Named("jobLedger")
public class JobLedger {

    /** Only for the small details column of hosted outputs; the rest of the ledger is plain SQL. */
    private static final com.fasterxml.jackson.databind.ObjectMapper HOSTED_DETAILS = new com.fasterxml.jackson.databind.ObjectMapper();

    private static final Logger LOG = Logger.getLogger(JobLedger.class);
    private static final String ACTIVE_STATES = "('RECEIVED','SUBMITTING','PROCESSING','STUCK','DOWNLOADING')";
    /**
     * Claim order: jobs furthest along first, then the longest due. A burst of new files must not
     * hold back the polls and downloads of jobs already paid for (seen in bench/ScaleBench: 500
     * files dropped at once, and the first result came only after all 500 were submitted). A job
     * due for longer than {@link #CLAIM_AGING} ranks with the polls, so steady polling of many
     * jobs cannot keep a new file waiting for ever. The one parameter is now minus that age.
     */
    private static final String CLAIM_ORDER = "ORDER BY CASE WHEN state = 'DOWNLOADING' THEN 0"
            + " WHEN state IN ('PROCESSING','STUCK') OR next_at < ? THEN 1 WHEN state = 'SUBMITTING' THEN 2 ELSE 3 END, next_at";
    static final java.time.Duration CLAIM_AGING = java.time.Duration.ofMinutes(1);

    @Inject
    LedgerDataSource db;

    @Inject
    HubConfig config;

    private String instanceId;

    @PostConstruct
    void init() {
        instanceId = config.instanceId().orElse("hub-" + UUID.randomUUID().toString().substring(0, 8));
    }

    public String instanceId() {
        return instanceId;
    }

    // ---------------------------------------------------------------- jobs

    /** What intake knows about a new source; the job is created already leased to this process. */
    public record NewJob(String id, String provider, String routeId, String sourceKey, String sourceLocation,
                         String sourceName, long sourceSize, String sourceSha256, String specJson,
                         String sink, String sourceObject) {

        /** A job for the folder outbox whose source is not a bucket object. */
        public NewJob(String id, String provider, String routeId, String sourceKey, String sourceLocation,
                      String sourceName, long sourceSize, String sourceSha256, String specJson) {
            this(id, provider, routeId, sourceKey, sourceLocation, sourceName, sourceSize, sourceSha256, specJson, null, null);
        }
    }

    /**
     * Inserts the job, or returns the existing one for the same source (the unique source key
     * makes "never submitted twice" hold across restarts and replicas).
     */
    public Registration register(NewJob job) {
        Optional<Job> existing = findBySourceKey(job.sourceKey());
        if (existing.isPresent()) {
            return new Registration(existing.get(), false);
        }
        Instant now = Instant.now();
        String sql = "INSERT INTO job (id, provider, route_id, source_key, source_location, source_name, source_size, "
                + "source_sha256, spec_json, state, stage, attempts, next_at, lease_owner, lease_until, created_at, updated_at, "
                + "sink, source_object) VALUES (?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,?,?)";
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, job.id());
            ps.setString(2, job.provider());
            ps.setString(3, job.routeId());
            ps.setString(4, job.sourceKey());
            ps.setString(5, job.sourceLocation());
            ps.setString(6, job.sourceName());
            ps.setLong(7, job.sourceSize());
            ps.setString(8, job.sourceSha256());
            ps.setString(9, job.specJson());
            ps.setString(10, JobState.RECEIVED.name());
            ps.setString(11, Stage.INTAKE.name());
            ps.setTimestamp(12, ts(now));
            ps.setString(13, instanceId);
            ps.setTimestamp(14, ts(now.plus(config.poll().lease())));
            ps.setTimestamp(15, ts(now));
            ps.setTimestamp(16, ts(now));
            ps.setString(17, job.sink());
            ps.setString(18, job.sourceObject());
            ps.executeUpdate();
        } catch (SQLException e) {
            // Another replica registered the same source between our look-up and insert.
            Optional<Job> raced = findBySourceKey(job.sourceKey());
            if (raced.isPresent()) {
                return new Registration(raced.get(), false);
            }
            throw new LedgerException("cannot register job for " + job.sourceName(), e);
        }
        event(job.id(), Stage.INTAKE, "received " + job.sourceName() + " (" + job.sourceSize() + " bytes, sha256 " + job.sourceSha256() + ")");
        return new Registration(load(job.id()), true);
    }

    public record Registration(Job job, boolean created) {
    }

    public Job load(String id) {
        return find(id).orElseThrow(() -> new LedgerException("no job " + id, null));
    }

    public Optional<Job> find(String id) {
        return queryOne("SELECT * FROM job WHERE id = ?", id);
    }

    public Optional<Job> findBySourceKey(String sourceKey) {
        return queryOne("SELECT * FROM job WHERE source_key = ?", sourceKey);
    }

    /** Jobs whose source has this content, newest first (to explain duplicates to an operator). */
    public List<Job> findBySha256(String provider, String sha256) {
        return queryList("SELECT * FROM job WHERE provider = ? AND source_sha256 = ? ORDER BY created_at DESC", provider, sha256);
    }

    public List<Job> list(JobState state, String provider, int limit) {
        StringBuilder sql = new StringBuilder("SELECT * FROM job WHERE 1=1");
        List<Object> args = new ArrayList<>();
        if (state != null) {
            sql.append(" AND state = ?");
            args.add(state.name());
        }
        if (provider != null) {
            sql.append(" AND provider = ?");
            args.add(provider);
        }
        sql.append(" ORDER BY created_at DESC LIMIT ").append(Math.max(1, Math.min(limit, 1000)));
        return queryList(sql.toString(), args.toArray());
    }

    public void setState(String id, JobState state, Stage stage, String reason, String providerMessage) {
        Instant now = Instant.now();
        boolean end = !state.active();
        String sql = "UPDATE job SET state = ?, stage = ?, reason = ?, provider_message = ?, updated_at = ?"
                + (end ? ", finished_at = ?, lease_owner = NULL, lease_until = NULL" : ", finished_at = NULL") + " WHERE id = ?";
        Object[] args = end ? new Object[]{state.name(), stage.name(), reason, providerMessage, ts(now), ts(now), id}
                : new Object[]{state.name(), stage.name(), reason, providerMessage, ts(now), id};
        if (!end) {
            update(sql, args);
            return;
        }
        // The end state and its notifications commit together: a crash cannot end a job unannounced.
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    bind(ps, args);
                    ps.executeUpdate();
                }
                String event = state.name().toLowerCase(Locale.ROOT);
                for (String target : NOTIFICATION_TARGETS) {
                    String nid = id + ":" + event + ":" + target;
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO notification (id, job_id, event_type, target, state, attempts,"
                            + " next_at, created_at) SELECT ?, ?, ?, ?, 'PENDING', 0, ?, ? FROM job WHERE id = ?"
                            + " AND NOT EXISTS (SELECT 1 FROM notification WHERE id = ?)")) {
                        bind(ps, nid, id, event, target, ts(now), ts(now), id, nid);
                        ps.executeUpdate();
                    }
                }
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new LedgerException("ledger update failed", e);
        }
    }

    /** Where every job end is announced: the append-only events log and the route's (or the hub's) webhook. */
    public static final List<String> NOTIFICATION_TARGETS = List.of("events-log", "webhook");

    public void markSubmitted(String id, Instant deadline) {
        Instant now = Instant.now();
        update("UPDATE job SET state = ?, stage = ?, submitted_at = ?, deadline_at = ?, attempts = 0, updated_at = ? WHERE id = ?",
                JobState.PROCESSING.name(), Stage.POLL.name(), ts(now), ts(deadline), ts(now), id);
    }

    public void setMedia(String id, String mediaJson) {
        update("UPDATE job SET media_json = ?, updated_at = ? WHERE id = ?", mediaJson, ts(Instant.now()), id);
    }

    public void setSpec(String id, String specJson) {
        update("UPDATE job SET spec_json = ?, updated_at = ? WHERE id = ?", specJson, ts(Instant.now()), id);
    }

    public void setProviderRef(String id, String providerRef, String providerData) {
        update("UPDATE job SET provider_ref = ?, provider_data = ?, updated_at = ? WHERE id = ?", providerRef, providerData, ts(Instant.now()), id);
    }

    public void setProviderData(String id, String providerData) {
        update("UPDATE job SET provider_data = ?, updated_at = ? WHERE id = ?", providerData, ts(Instant.now()), id);
    }

    public void setCredits(String id, double credits) {
        update("UPDATE job SET credits = ?, updated_at = ? WHERE id = ?", credits, ts(Instant.now()), id);
    }

    /** When the job should next be looked at; the lease is kept (see {@link #release}). */
    public void setNextAt(String id, Instant nextAt) {
        update("UPDATE job SET next_at = ?, updated_at = ? WHERE id = ?", ts(nextAt), ts(Instant.now()), id);
    }

    /** Whether another job already delivers into this outbox folder. */
    public boolean outboxDirTaken(String dir, String exceptJobId) {
        return queryOne("SELECT * FROM job WHERE outbox_dir = ? AND id <> ?", dir, exceptJobId).isPresent();
    }

    public void setOutboxDir(String id, String dir) {
        update("UPDATE job SET outbox_dir = ?, updated_at = ? WHERE id = ?", dir, ts(Instant.now()), id);
    }

    /** A transient failure: count it and come back after {@code nextAt}. Returns the new count. */
    public int retryLater(String id, Instant nextAt, String reason) {
        update("UPDATE job SET attempts = attempts + 1, next_at = ?, reason = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
                ts(nextAt), reason, ts(Instant.now()), id);
        return load(id).attempts();
    }

    /** The job's sink as chosen at intake: null = the folder outbox, else e.g. {@code s3://bucket/prefix}. */
    public String sinkOf(String id) {
        return queryString("SELECT sink FROM job WHERE id = ?", id);
    }

    /** The bucket object a job came from (JSON, see V5__sinks.sql), null for folder sources. */
    public String sourceObjectOf(String id) {
        return queryString("SELECT source_object FROM job WHERE id = ?", id);
    }

    /**
     * Jobs whose source key starts with {@code prefix} (e.g. {@code s3://bucket/to-dub/}), in one
     * query: what a bucket scan loads once per route instead of asking per listed object.
     */
    public List<Job> jobsWithSourceKeyStartingWith(String prefix) {
        String like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
        return queryList("SELECT * FROM job WHERE source_key LIKE ? ESCAPE '\\'", like);
    }

    private String queryString(String sql, String arg) {
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            throw new LedgerException("ledger query failed", e);
        }
    }

    /** Frees the source key of a failed job so the same file dropped again can become a new job. */
    public void retireSourceKey(String id) {
        update("UPDATE job SET source_key = source_key || ? WHERE id = ?", "|retired:" + id, id);
    }

    /**
     * A job held back by a rate limit: back at {@code nextAt}, lease let go, attempts untouched
     * (waiting is not failing); {@code reason} tells the job API what it waits for.
     */
    public void waitUntil(String id, Instant nextAt, String reason) {
        update("UPDATE job SET next_at = ?, reason = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
                ts(nextAt), reason, ts(Instant.now()), id);
    }

    /** Clears a waiting job's reason once it goes on. */
    public void clearReason(String id) {
        update("UPDATE job SET reason = NULL, updated_at = ? WHERE id = ? AND reason IS NOT NULL", ts(Instant.now()), id);
    }

    public void resetAttempts(String id) {
        update("UPDATE job SET attempts = 0, reason = NULL, updated_at = ? WHERE id = ?", ts(Instant.now()), id);
    }

    // ---------------------------------------------------------------- leases

    /**
     * Claims up to {@code limit} due jobs for this process. On PostgreSQL the candidates are
     * locked with FOR UPDATE SKIP LOCKED so replicas never wait on each other; on H2 each row is
     * claimed by a conditional update, which has the same effect for one file database.
     */
    public List<String> claimDue(int limit) {
        Instant now = Instant.now();
        Instant until = now.plus(config.poll().lease());
        List<String> claimed = new ArrayList<>();
        if (db.postgres()) {
            String sql = "UPDATE job SET lease_owner = ?, lease_until = ? WHERE id IN ("
                    + "SELECT id FROM job WHERE state IN " + ACTIVE_STATES + " AND next_at <= ? "
                    + "AND (lease_until IS NULL OR lease_until < ?) " + CLAIM_ORDER + " LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING id";
            try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, instanceId);
                ps.setTimestamp(2, ts(until));
                ps.setTimestamp(3, ts(now));
                ps.setTimestamp(4, ts(now));
                ps.setTimestamp(5, ts(now.minus(CLAIM_AGING)));
                ps.setInt(6, limit);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        claimed.add(rs.getString(1));
                    }
                }
            } catch (SQLException e) {
                throw new LedgerException("cannot claim due jobs", e);
            }
            return claimed;
        }
        List<String> candidates = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT id FROM job WHERE state IN " + ACTIVE_STATES + " AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?) " + CLAIM_ORDER + " LIMIT ?")) {
            ps.setTimestamp(1, ts(now));
            ps.setTimestamp(2, ts(now));
            ps.setTimestamp(3, ts(now.minus(CLAIM_AGING)));
            ps.setInt(4, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    candidates.add(rs.getString(1));
                }
            }
            for (String id : candidates) {
                if (tryLease(c, id, now, until)) {
                    claimed.add(id);
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot claim due jobs", e);
        }
        return claimed;
    }

    private boolean tryLease(Connection c, String id, Instant now, Instant until) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE job SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)")) {
            ps.setString(1, instanceId);
            ps.setTimestamp(2, ts(until));
            ps.setString(3, id);
            ps.setTimestamp(4, ts(now));
            ps.setString(5, instanceId);
            return ps.executeUpdate() == 1;
        }
    }

    /** Keeps the leases of jobs this process is still working on (long uploads, queued work). */
    public void renewLeases(Collection<String> ids) {
        if (ids.isEmpty()) {
            return;
        }
        Instant until = Instant.now().plus(config.poll().lease());
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE job SET lease_until = ? WHERE id = ? AND lease_owner = ?")) {
            for (String id : ids) {
                ps.setTimestamp(1, ts(until));
                ps.setString(2, id);
                ps.setString(3, instanceId);
                ps.addBatch();
            }
            ps.executeBatch();
        } catch (SQLException e) {
            throw new LedgerException("cannot renew leases", e);
        }
    }

    /** Lets go of a job until {@code nextAt}; any replica may claim it then. */
    public void release(String id, Instant nextAt) {
        update("UPDATE job SET lease_owner = NULL, lease_until = NULL, next_at = ?, updated_at = ? WHERE id = ? AND (lease_owner = ? OR lease_owner IS NULL)",
                ts(nextAt), ts(Instant.now()), id, instanceId);
    }

    public boolean holdsLease(String id) {
        return queryOne("SELECT * FROM job WHERE id = ? AND lease_owner = ?", id, instanceId).isPresent();
    }

    // ---------------------------------------------------------------- targets

    public void upsertTarget(String jobId, String language, String providerRef, JobTarget.TargetState state, String reason) {
        Instant now = Instant.now();
        int n = update("UPDATE job_target SET provider_ref = COALESCE(?, provider_ref), state = ?, reason = ?, updated_at = ? WHERE job_id = ? AND language = ?",
                providerRef, state.name(), reason, ts(now), jobId, language);
        if (n == 0) {
            update("INSERT INTO job_target (job_id, language, provider_ref, state, reason, updated_at) VALUES (?,?,?,?,?,?)",
                    jobId, language, providerRef, state.name(), reason, ts(now));
        }
    }

    public List<JobTarget> targets(String jobId) {
        List<JobTarget> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT * FROM job_target WHERE job_id = ? ORDER BY language")) {
            ps.setString(1, jobId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new JobTarget(rs.getString("job_id"), rs.getString("language"), rs.getString("provider_ref"),
                            JobTarget.TargetState.valueOf(rs.getString("state")), rs.getString("reason"), instant(rs, "updated_at")));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot read targets of " + jobId, e);
        }
        return out;
    }

    // ---------------------------------------------------------------- provider calls

    public Optional<ProviderCall> call(String jobId, String operation, String scope) {
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT * FROM provider_call WHERE job_id = ? AND operation = ? AND scope = ?")) {
            ps.setString(1, jobId);
            ps.setString(2, operation);
            ps.setString(3, scope);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new ProviderCall(rs.getString("job_id"), rs.getString("operation"), rs.getString("scope"),
                        ProviderCall.State.valueOf(rs.getString("state")), rs.getString("provider_ref"), rs.getString("detail"),
                        instant(rs, "created_at"), instant(rs, "updated_at")));
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot read call " + operation + " of " + jobId, e);
        }
    }

    /** Written before a billable call: after a crash, its presence means "look it up first". */
    public void recordIntent(String jobId, String operation, String scope, String detail) {
        Instant now = Instant.now();
        if (call(jobId, operation, scope).isPresent()) {
            update("UPDATE provider_call SET updated_at = ? WHERE job_id = ? AND operation = ? AND scope = ?", ts(now), jobId, operation, scope);
            return;
        }
        update("INSERT INTO provider_call (job_id, operation, scope, state, detail, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
                jobId, operation, scope, ProviderCall.State.INTENT.name(), detail, ts(now), ts(now));
        CrashPoints.reached(CrashPoints.AFTER_INTENT);
    }

    public void recordDone(String jobId, String operation, String scope, String providerRef, String detail) {
        Instant now = Instant.now();
        int n = update("UPDATE provider_call SET state = ?, provider_ref = ?, detail = COALESCE(?, detail), updated_at = ? WHERE job_id = ? AND operation = ? AND scope = ?",
                ProviderCall.State.DONE.name(), providerRef, detail, ts(now), jobId, operation, scope);
        if (n == 0) {
            update("INSERT INTO provider_call (job_id, operation, scope, state, provider_ref, detail, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                    jobId, operation, scope, ProviderCall.State.DONE.name(), providerRef, detail, ts(now), ts(now));
        }
        CrashPoints.reached(CrashPoints.AFTER_CREATE_RECORDED);
    }

    public List<ProviderCall> calls(String jobId) {
        List<ProviderCall> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT * FROM provider_call WHERE job_id = ? ORDER BY created_at")) {
            ps.setString(1, jobId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new ProviderCall(rs.getString("job_id"), rs.getString("operation"), rs.getString("scope"),
                            ProviderCall.State.valueOf(rs.getString("state")), rs.getString("provider_ref"), rs.getString("detail"),
                            instant(rs, "created_at"), instant(rs, "updated_at")));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot read calls of " + jobId, e);
        }
        return out;
    }

    // ---------------------------------------------------------------- outputs and events

    public void recordOutput(String jobId, JobOutput output) {
        Instant now = Instant.now();
        update("DELETE FROM job_output WHERE job_id = ? AND language = ? AND type = ?", jobId, output.language(), output.type());
        update("INSERT INTO job_output (job_id, language, type, path, bytes, sha256, metadata, created_at) VALUES (?,?,?,?,?,?,?,?)",
                jobId, output.language(), output.type(), output.path(), output.bytes(), output.sha256(), output.metadata(), ts(now));
    }

    public List<JobOutput> outputs(String jobId) {
        List<JobOutput> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT * FROM job_output WHERE job_id = ? ORDER BY language, type")) {
            ps.setString(1, jobId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new JobOutput(rs.getString("language"), rs.getString("type"), rs.getString("path"),
                            rs.getLong("bytes"), rs.getString("sha256"), rs.getString("metadata")));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot read outputs of " + jobId, e);
        }
        return out;
    }

    /** An output the provider hosts (recorded, not downloaded); recording it again replaces it. */
    public void recordHostedOutput(String jobId, HostedOutput output) {
        String detail;
        try {
            detail = HOSTED_DETAILS.writeValueAsString(output.details());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("hosted output details of " + jobId + " cannot be written as JSON", e);
        }
        update("DELETE FROM job_hosted_output WHERE job_id = ? AND type = ? AND provider_ref = ?", jobId, output.type(), output.providerRef());
        update("INSERT INTO job_hosted_output (job_id, language, type, provider_ref, url, detail, created_at) VALUES (?,?,?,?,?,?,?)",
                jobId, output.language(), output.type(), output.providerRef(), output.url(), detail, ts(Instant.now()));
    }

    public List<HostedOutput> hostedOutputs(String jobId) {
        List<HostedOutput> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT * FROM job_hosted_output WHERE job_id = ? ORDER BY type DESC, language, provider_ref")) {
            ps.setString(1, jobId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Map<String, String> details = new LinkedHashMap<>();
                    String detail = rs.getString("detail");
                    if (detail != null) {
                        HOSTED_DETAILS.readTree(detail).fields().forEachRemaining(e -> details.put(e.getKey(), e.getValue().asText()));
                    }
                    out.add(new HostedOutput(rs.getString("language"), rs.getString("type"), rs.getString("provider_ref"),
                            rs.getString("url"), details));
                }
            }
        } catch (SQLException | java.io.IOException e) {
            throw new LedgerException("cannot read hosted outputs of " + jobId, e);
        }
        return out;
    }

    public void event(String jobId, Stage stage, String message) {
        update("INSERT INTO job_event (job_id, at, stage, message) VALUES (?,?,?,?)", jobId, ts(Instant.now()), stage.name(), message);
    }

    public List<JobEvent> events(String jobId) {
        List<JobEvent> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT at, stage, message FROM job_event WHERE job_id = ? ORDER BY id")) {
            ps.setString(1, jobId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new JobEvent(instant(rs, "at"), rs.getString("stage").toLowerCase(), rs.getString("message")));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot read events of " + jobId, e);
        }
        return out;
    }

    // ---------------------------------------------------------------- provider health and figures

    public void setProviderHealth(String provider, String state, String message) {
        Instant now = Instant.now();
        int n = update("UPDATE provider_health SET state = ?, message = ?, updated_at = ? WHERE provider = ?", state, message, ts(now), provider);
        if (n == 0) {
            update("INSERT INTO provider_health (provider, state, message, updated_at) VALUES (?,?,?,?)", provider, state, message, ts(now));
        }
    }

    public void clearProviderHealth(String provider) {
        update("DELETE FROM provider_health WHERE provider = ?", provider);
    }

    /** provider → [state, message] for providers with a known problem. */
    public Map<String, String[]> providerHealth() {
        Map<String, String[]> out = new LinkedHashMap<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement("SELECT * FROM provider_health ORDER BY provider");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getString("provider"), new String[]{rs.getString("state"), rs.getString("message")});
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot read provider health", e);
        }
        return out;
    }

    /** provider → state → count, for metrics. */
    public Map<String, Map<String, Long>> countsByProviderAndState() {
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT provider, state, COUNT(*) FROM job GROUP BY provider, state"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.computeIfAbsent(rs.getString(1), k -> new LinkedHashMap<>()).put(rs.getString(2), rs.getLong(3));
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot count jobs", e);
        }
        return out;
    }

    /** provider → credits recorded on its jobs (what the providers said they charged). */
    public Map<String, Double> creditsByProvider() {
        Map<String, Double> out = new LinkedHashMap<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT provider, SUM(credits) FROM job WHERE credits IS NOT NULL GROUP BY provider ORDER BY provider"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getDouble(2));
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot sum credits", e);
        }
        return out;
    }

    // ---------------------------------------------------------------- rate gates

    /**
     * The answer of {@link #acquireGate}: granted, or when to ask again and why not now.
     * {@code running} and {@code inWindow} are the counts seen, including this request when granted.
     */
    public record GateDecision(boolean granted, Instant retryAt, String reason, int running, int inWindow) {
    }

    /**
     * Takes one request in gate {@code gate} for {@code holder} (a job id), atomically for every
     * replica: the gate's row is locked (SELECT ... FOR UPDATE, on H2 and PostgreSQL alike) while
     * three rules are checked: the provider's own block (429 Retry-After) has passed; the holder
     * already holds a running place or fewer than {@code maxRunning} are held (places of jobs that
     * ended do not count); fewer than {@code maxPerWindow} requests were let through in the last
     * {@code window}. When granted, the request is recorded and the place taken; it stays taken
     * until {@link #releaseGate} or the holder's job ends. When refused, nothing is recorded and
     * {@code retryAt} says when it can be worth asking again ({@code recheck} from now when only a
     * running place frees it, since nobody can tell when that is).
     */
    public GateDecision acquireGate(String gate, String holder, int maxRunning, int maxPerWindow, Duration window, Duration recheck) {
        ensureGate(gate);
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            try {
                GateDecision decision = acquireLocked(c, gate, holder, maxRunning, maxPerWindow, window, recheck);
                if (decision.granted()) {
                    c.commit();
                } else {
                    c.rollback();
                }
                return decision;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot acquire rate gate " + gate, e);
        }
    }

    private GateDecision acquireLocked(Connection c, String gate, String holder, int maxRunning, int maxPerWindow,
                                       Duration window, Duration recheck) throws SQLException {
        Instant blockedUntil = null;
        String blockReason = null;
        try (PreparedStatement ps = c.prepareStatement("SELECT blocked_until, reason FROM rate_gate WHERE gate = ? FOR UPDATE")) {
            ps.setString(1, gate);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    blockedUntil = instant(rs, "blocked_until");
                    blockReason = rs.getString("reason");
                }
            }
        }
        // the clock is read after the lock is ours: whoever got it before us has committed
        Instant now = Instant.now();
        if (blockedUntil != null && blockedUntil.isAfter(now)) {
            return new GateDecision(false, blockedUntil, blockReason == null ? "the provider asked us to wait" : blockReason, -1, -1);
        }
        boolean holds;
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM rate_gate_slot WHERE gate = ? AND holder = ?")) {
            ps.setString(1, gate);
            ps.setString(2, holder);
            try (ResultSet rs = ps.executeQuery()) {
                holds = rs.next();
            }
        }
        int running;
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM rate_gate_slot s WHERE s.gate = ? AND NOT EXISTS "
                + "(SELECT 1 FROM job j WHERE j.id = s.holder AND j.state NOT IN " + ACTIVE_STATES + ")")) {
            ps.setString(1, gate);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                running = rs.getInt(1);
            }
        }
        if (!holds && running >= maxRunning) {
            return new GateDecision(false, now.plus(recheck), running + " of at most " + maxRunning + " jobs running", running, -1);
        }
        List<Instant> recent = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT at FROM rate_gate_request WHERE gate = ? AND at > ? ORDER BY at DESC")) {
            ps.setString(1, gate);
            ps.setTimestamp(2, ts(now.minus(window)));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    recent.add(instant(rs, "at"));
                }
            }
        }
        if (recent.size() >= maxPerWindow) {
            // the request that must leave the window before one more fits
            Instant leaving = recent.get(maxPerWindow - 1);
            return new GateDecision(false, leaving.plus(window), recent.size() + " requests in the last " + window.toMillis() / 1000.0
                    + " s, at most " + maxPerWindow, running, recent.size());
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO rate_gate_request (gate, holder, at) VALUES (?,?,?)")) {
            ps.setString(1, gate);
            ps.setString(2, holder);
            ps.setTimestamp(3, ts(now));
            ps.executeUpdate();
        }
        if (!holds) {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO rate_gate_slot (gate, holder, acquired_at) VALUES (?,?,?)")) {
                ps.setString(1, gate);
                ps.setString(2, holder);
                ps.setTimestamp(3, ts(now));
                ps.executeUpdate();
            }
        }
        // housekeeping under the same lock: requests far out of any window, places of ended jobs
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM rate_gate_request WHERE gate = ? AND at < ?")) {
            ps.setString(1, gate);
            ps.setTimestamp(2, ts(now.minus(window.multipliedBy(10))));
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM rate_gate_slot WHERE gate = ? AND EXISTS "
                + "(SELECT 1 FROM job j WHERE j.id = rate_gate_slot.holder AND j.state NOT IN " + ACTIVE_STATES + ")")) {
            ps.setString(1, gate);
            ps.executeUpdate();
        }
        return new GateDecision(true, now, null, holds ? running : running + 1, recent.size() + 1);
    }

    /** The holder's running place is free again (its job finished at the provider). */
    public void releaseGate(String gate, String holder) {
        update("DELETE FROM rate_gate_slot WHERE gate = ? AND holder = ?", gate, holder);
    }

    /** The provider said "not before {@code until}" (429 Retry-After): every replica waits. A later block wins. */
    public void blockGate(String gate, Instant until, String reason) {
        ensureGate(gate);
        update("UPDATE rate_gate SET blocked_until = ?, reason = ?, updated_at = ? WHERE gate = ? AND (blocked_until IS NULL OR blocked_until < ?)",
                ts(until), reason, ts(Instant.now()), gate, ts(until));
    }

    /** Holders of running places in {@code gate}, for the API and tests. */
    public List<String> gateHolders(String gate) {
        List<String> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT holder FROM rate_gate_slot WHERE gate = ? ORDER BY acquired_at")) {
            ps.setString(1, gate);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot read rate gate " + gate, e);
        }
        return out;
    }

    private void ensureGate(String gate) {
        if (exists("SELECT 1 FROM rate_gate WHERE gate = ?", gate)) {
            return;
        }
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO rate_gate (gate, updated_at) VALUES (?, ?)")) {
            ps.setString(1, gate);
            ps.setTimestamp(2, ts(Instant.now()));
            ps.executeUpdate();
        } catch (SQLException e) {
            // another replica created it between our look and our insert: fine
            if (!exists("SELECT 1 FROM rate_gate WHERE gate = ?", gate)) {
                throw new LedgerException("cannot create rate gate " + gate, e);
            }
        }
    }

    private boolean exists(String sql, String arg) {
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            throw new LedgerException("ledger query failed", e);
        }
    }

    public boolean reachable() {
        try (Connection c = db.connection()) {
            return c.isValid(5);
        } catch (SQLException e) {
            LOG.debugf("ledger not reachable: %s", e.getMessage());
            return false;
        }
    }

    // ---------------------------------------------------------------- plumbing

    private Optional<Job> queryOne(String sql, Object... args) {
        List<Job> jobs = queryList(sql, args);
        return jobs.isEmpty() ? Optional.empty() : Optional.of(jobs.get(0));
    }

    private List<Job> queryList(String sql, Object... args) {
        List<Job> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, args);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(job(rs));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("ledger query failed", e);
        }
        return out;
    }

    private int update(String sql, Object... args) {
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, args);
            return ps.executeUpdate();
        } catch (SQLException e) {
            throw new LedgerException("ledger update failed", e);
        }
    }

    private static void bind(PreparedStatement ps, Object... args) throws SQLException {
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a == null) {
                ps.setNull(i + 1, Types.VARCHAR);
            } else if (a instanceof Timestamp t) {
                ps.setTimestamp(i + 1, t);
            } else if (a instanceof Long l) {
                ps.setLong(i + 1, l);
            } else if (a instanceof Integer n) {
                ps.setInt(i + 1, n);
            } else if (a instanceof Double d) {
                ps.setDouble(i + 1, d);
            } else {
                ps.setString(i + 1, a.toString());
            }
        }
    }

    private static Job job(ResultSet rs) throws SQLException {
        double credits = rs.getDouble("credits");
        Double creditsOrNull = rs.wasNull() ? null : credits;
        return new Job(rs.getString("id"), rs.getString("provider"), rs.getString("route_id"), rs.getString("source_key"),
                rs.getString("source_location"), rs.getString("source_name"), rs.getLong("source_size"),
                rs.getString("source_sha256"), rs.getString("spec_json"), rs.getString("media_json"),
                JobState.valueOf(rs.getString("state")), rs.getString("stage"), rs.getString("reason"),
                rs.getString("provider_message"), rs.getString("provider_ref"), rs.getString("provider_data"),
                creditsOrNull, rs.getInt("attempts"), instant(rs, "next_at"), instant(rs, "deadline_at"),
                rs.getString("outbox_dir"), instant(rs, "created_at"), instant(rs, "updated_at"),
                instant(rs, "submitted_at"), instant(rs, "finished_at"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }

    private static Timestamp ts(Instant i) {
        return i == null ? null : Timestamp.from(i);
    }
}
