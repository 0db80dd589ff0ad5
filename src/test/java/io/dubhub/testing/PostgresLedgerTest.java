package io.dubhub.testing;

import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class PostgresLedgerTest {

    @Test
    void createsADatabaseOfItsOwnThatTakesTablesAndRowsAndDropsIt() throws SQLException {
        PostgresLedger pg = PostgresLedger.create();
        String database = pg.database();
        try {
            assertThat(database).matches("dubhub_t_[0-9a-f]{12}");
            assertThat(pg.jdbcUrl()).isEqualTo("jdbc:postgresql://127.0.0.1:5432/" + database);
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl(), pg.username(), pg.password());
                 Statement st = c.createStatement()) {
                st.execute("CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL)");
                st.execute("INSERT INTO job VALUES ('j-1', 'SUBMITTED')");
                try (ResultSet rs = st.executeQuery("SELECT current_database(), current_user, "
                        + "(SELECT state FROM job WHERE id = 'j-1'), "
                        + "(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public')")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo(database);
                    assertThat(rs.getString(2)).isEqualTo(pg.username());
                    assertThat(rs.getString(3)).isEqualTo("SUBMITTED");
                    assertThat(rs.getLong(4)).as("a fresh database holds only our table").isEqualTo(1);
                }
            }
            assertThat(exists(pg, database)).isTrue();

            // A connection left open (a pool the test forgot) must not stop the drop.
            try (Connection forgotten = pg.connect()) {
                pg.drop();
                assertThat(forgotten.isValid(2)).isFalse();
            }
        } finally {
            pg.drop();
        }

        assertThat(existsViaFreshLedger(database)).isFalse();
        SQLException gone = catchThrowableOfType(SQLException.class, pg::connect);
        assertThat((Throwable) gone).as("connecting to a dropped database").isNotNull();
        assertThat(gone.getSQLState()).isEqualTo("3D000"); // invalid_catalog_name
        pg.drop(); // idempotent
    }

    @Test
    void everyLedgerGetsADifferentDatabase() {
        try (PostgresLedger a = PostgresLedger.create(); PostgresLedger b = PostgresLedger.create()) {
            assertThat(a.database()).isNotEqualTo(b.database());
            assertThat(a.jdbcUrl()).isNotEqualTo(b.jdbcUrl());
        }
    }

    @Test
    void resourceHandsQuarkusTheLedgerSettingsAndDropsTheDatabaseOnStop() throws SQLException {
        PostgresLedgerResource resource = new PostgresLedgerResource();
        Map<String, String> config = resource.start();
        String database;
        try {
            assertThat(config).containsOnlyKeys("hub.ledger.jdbc-url", "hub.ledger.username", "hub.ledger.password");
            try (Connection c = DriverManager.getConnection(config.get("hub.ledger.jdbc-url"),
                    config.get("hub.ledger.username"), config.get("hub.ledger.password"));
                 Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT current_database()")) {
                assertThat(rs.next()).isTrue();
                database = rs.getString(1);
                assertThat(config.get("hub.ledger.jdbc-url")).endsWith("/" + database);
            }
        } finally {
            resource.stop();
        }
        assertThat(existsViaFreshLedger(database)).isFalse();
    }

    private static boolean existsViaFreshLedger(String database) throws SQLException {
        try (PostgresLedger probe = PostgresLedger.create()) {
            return exists(probe, database);
        }
    }

    private static boolean exists(PostgresLedger via, String database) throws SQLException {
        try (Connection c = via.connect();
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_database WHERE datname = ?")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1) == 1;
            }
        }
    }
}
