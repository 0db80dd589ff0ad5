package io.dubhub.ledger;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The spend guard's SQL (tables of V6__budgets.sql), beside {@link JobLedger} rather than in it so
 * the budget rules read in one place. A reservation locks its budgets' rows (SELECT ... FOR UPDATE,
 * H2 and PostgreSQL alike), so "does it fit?" and "take it" are one step for every replica.
 */
@ApplicationScoped
public class BudgetLedger {

    private static final String ACTIVE_STATES = "('RECEIVED','SUBMITTING','PROCESSING','STUCK','DOWNLOADING')";

    /**
     * What one reservation counts against its budget (see V6__budgets.sql): a running job the
     * larger of its reservation and the credits it reported; an ended job what it reported, else
     * nothing when it never got submitted, else its reservation.
     */
    private static final String COUNTED = "CASE WHEN j.id IS NULL THEN r.credits"
            + " WHEN j.state IN " + ACTIVE_STATES + " THEN GREATEST(r.credits, COALESCE(j.credits, 0))"
            + " WHEN j.credits IS NOT NULL THEN j.credits"
            + " WHEN j.submitted_at IS NULL THEN 0"
            + " ELSE r.credits END";

    @Inject
    LedgerDataSource db;

    /** One budget a job must fit in: its scope ('provider:dublab', 'route:inbox-dublab') and daily cap. */
    public record Budget(String scope, double dailyCap) {
    }

    /**
     * The answer of {@link #reserve}: granted, or the budget that refused and its figures
     * ({@code used} = credits already used or reserved that day, without this job).
     */
    public record Decision(boolean granted, Budget refusedBy, double used, double need) {
        static Decision granted(double need) {
            return new Decision(true, null, 0, need);
        }
    }

    /**
     * Reserves {@code credits} for {@code jobId} in every budget on {@code day}, all or none: for
     * each budget the credits used or reserved that day plus this job's must not exceed its cap.
     * A job that already holds a reservation in a budget keeps it (a resumed submit asks again).
     */
    public Decision reserve(String jobId, String day, double credits, List<Budget> budgets) {
        List<Budget> ordered = budgets.stream().sorted(Comparator.comparing(Budget::scope)).toList();
        for (Budget b : ordered) {
            ensureScope(b.scope());
        }
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            try {
                // locks in one order (by scope name), so two jobs asking for the same pair never deadlock
                for (Budget b : ordered) {
                    try (PreparedStatement ps = c.prepareStatement("SELECT scope FROM budget_scope WHERE scope = ? FOR UPDATE")) {
                        ps.setString(1, b.scope());
                        ps.executeQuery().close();
                    }
                }
                Instant now = Instant.now();
                for (Budget b : ordered) {
                    if (held(c, b.scope(), jobId)) {
                        continue;
                    }
                    double used = used(c, b.scope(), day);
                    if (used + credits > b.dailyCap() + 1e-9) {
                        c.rollback();
                        return new Decision(false, b, used, credits);
                    }
                }
                for (Budget b : ordered) {
                    if (held(c, b.scope(), jobId)) {
                        continue;
                    }
                    try (PreparedStatement ps = c.prepareStatement(
                            "INSERT INTO budget_reservation (scope, job_id, budget_day, credits, reserved_at) VALUES (?,?,?,?,?)")) {
                        ps.setString(1, b.scope());
                        ps.setString(2, jobId);
                        ps.setString(3, day);
                        ps.setDouble(4, credits);
                        ps.setTimestamp(5, Timestamp.from(now));
                        ps.executeUpdate();
                    }
                    try (PreparedStatement ps = c.prepareStatement("UPDATE budget_scope SET updated_at = ? WHERE scope = ?")) {
                        ps.setTimestamp(1, Timestamp.from(now));
                        ps.setString(2, b.scope());
                        ps.executeUpdate();
                    }
                }
                c.commit();
                return Decision.granted(credits);
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot reserve budget for job " + jobId, e);
        }
    }

    /** Credits used or reserved in {@code scope} on {@code day} (for the gauges and the API). */
    public double used(String scope, String day) {
        try (Connection c = db.connection()) {
            return used(c, scope, day);
        } catch (SQLException e) {
            throw new LedgerException("cannot read budget " + scope, e);
        }
    }

    /** What {@code jobId} reserved in {@code scope}, if it did. */
    public Optional<Double> reservation(String scope, String jobId) {
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT credits FROM budget_reservation WHERE scope = ? AND job_id = ?")) {
            ps.setString(1, scope);
            ps.setString(2, jobId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getDouble(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot read budget " + scope, e);
        }
    }

    private static double used(Connection c, String scope, String day) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT COALESCE(SUM(" + COUNTED + "), 0) FROM budget_reservation r"
                + " LEFT JOIN job j ON j.id = r.job_id WHERE r.scope = ? AND r.budget_day = ?")) {
            ps.setString(1, scope);
            ps.setString(2, day);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getDouble(1);
            }
        }
    }

    private static boolean held(Connection c, String scope, String jobId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM budget_reservation WHERE scope = ? AND job_id = ?")) {
            ps.setString(1, scope);
            ps.setString(2, jobId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private void ensureScope(String scope) {
        try (Connection c = db.connection()) {
            if (exists(c, scope)) {
                return;
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO budget_scope (scope, updated_at) VALUES (?, ?)")) {
                ps.setString(1, scope);
                ps.setTimestamp(2, Timestamp.from(Instant.now()));
                ps.executeUpdate();
            } catch (SQLException e) {
                // another replica created it between our look and our insert: fine
                if (!exists(c, scope)) {
                    throw e;
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot create budget " + scope, e);
        }
    }

    private static boolean exists(Connection c, String scope) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM budget_scope WHERE scope = ?")) {
            ps.setString(1, scope);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }
}
