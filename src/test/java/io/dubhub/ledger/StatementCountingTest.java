package io.dubhub.ledger;

import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StatementCountingTest {

    @Test
    void countsEveryExecutedStatementAndPassesSqlErrorsThrough() throws Exception {
        AtomicLong counter = new AtomicLong();
        try (Connection c = StatementCounting.wrap(new org.h2.Driver().connect("jdbc:h2:mem:counting", new java.util.Properties()), counter)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id INT PRIMARY KEY)");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?)")) {
                ps.setInt(1, 1);
                ps.executeUpdate();
                ps.setInt(1, 2);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM t"); ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(2);
            }
            assertThat(counter.get()).isEqualTo(4);

            // a duplicate key: the caller sees the driver's SQLException, as without the wrapper, and it still counts
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (1)")) {
                assertThatThrownBy(ps::executeUpdate).isInstanceOf(SQLException.class);
            }
            assertThat(counter.get()).isEqualTo(5);
        }
    }
}
