package io.dubhub.notify;

import io.dubhub.ledger.JobLedger;
import io.dubhub.ledger.LedgerDataSource;
import io.dubhub.ledger.LedgerException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The notification table of the ledger (rows are written by {@link JobLedger#setState} with the
 * job's end state). Rows are claimed with a short lease, so several replicas share the sending and
 * a killed one's claims are taken over.
 */
@ApplicationScoped
public class NotificationOutbox {

    public enum State { PENDING, SENT, SKIPPED, DEAD }

    public record Notification(String id, String jobId, String eventType, String target, String url, State state,
                               int attempts, Instant nextAt, String lastError, Instant createdAt, Instant sentAt) {
    }

    @Inject
    LedgerDataSource db;

    @Inject
    JobLedger ledger;

    /** Claims up to {@code limit} due rows for {@code leaseSeconds}; each row is claimed by one process only. */
    public List<Notification> claimDue(int limit, long leaseSeconds) {
        Instant now = Instant.now();
        List<Notification> candidates = query("SELECT * FROM notification WHERE state = 'PENDING' AND next_at <= ?"
                + " AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_at", limit, ts(now), ts(now));
        List<Notification> claimed = new ArrayList<>();
        for (Notification n : candidates) {
            int won = update("UPDATE notification SET lease_owner = ?, lease_until = ? WHERE id = ? AND state = 'PENDING'"
                    + " AND (lease_until IS NULL OR lease_until < ?)", ledger.instanceId(), ts(now.plusSeconds(leaseSeconds)), n.id(), ts(now));
            if (won == 1) {
                claimed.add(n);
            }
        }
        return claimed;
    }

    public void sent(String id, String url) {
        update("UPDATE notification SET state = 'SENT', url = ?, sent_at = ?, lease_owner = NULL, lease_until = NULL, last_error = NULL"
                + " WHERE id = ?", url, ts(Instant.now()), id);
    }

    public void skipped(String id, String why) {
        update("UPDATE notification SET state = 'SKIPPED', last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?", why, id);
    }

    public void retryLater(String id, String url, Instant nextAt, String error) {
        update("UPDATE notification SET attempts = attempts + 1, url = ?, next_at = ?, last_error = ?, lease_owner = NULL,"
                + " lease_until = NULL WHERE id = ?", url, ts(nextAt), error, id);
    }

    public void dead(String id, String url, String error) {
        update("UPDATE notification SET state = 'DEAD', attempts = attempts + 1, url = ?, last_error = ?, lease_owner = NULL,"
                + " lease_until = NULL WHERE id = ?", url, error, id);
    }

    public List<Notification> forJob(String jobId) {
        return query("SELECT * FROM notification WHERE job_id = ? ORDER BY created_at, id", 100, jobId);
    }

    public long count(State state) {
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM notification WHERE state = ?")) {
            ps.setString(1, state.name());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            throw new LedgerException("ledger query failed", e);
        }
    }

    private List<Notification> query(String sql, int limit, Object... args) {
        List<Notification> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setMaxRows(limit);
            bind(ps, args);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Notification(rs.getString("id"), rs.getString("job_id"), rs.getString("event_type"), rs.getString("target"),
                            rs.getString("url"), State.valueOf(rs.getString("state")), rs.getInt("attempts"), instant(rs, "next_at"),
                            rs.getString("last_error"), instant(rs, "created_at"), instant(rs, "sent_at")));
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
                ps.setNull(i + 1, java.sql.Types.VARCHAR);
            } else if (a instanceof Timestamp t) {
                ps.setTimestamp(i + 1, t);
            } else {
                ps.setString(i + 1, a.toString());
            }
        }
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }

    private static Timestamp ts(Instant i) {
        return i == null ? null : Timestamp.from(i);
    }
}
