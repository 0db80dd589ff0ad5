package io.dubhub.ledger;

import io.dubhub.testing.PostgresLedgerResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@QuarkusTest
@TestProfile(LedgerOnPostgresTest.Profile.class)
class LedgerOnPostgresTest extends LedgerContract {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("camel.main.auto-startup", "false");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(PostgresLedgerResource.class), new TestResourceEntry(io.dubhub.testing.FreshDataDir.class));
        }
    }

    @Test
    void hubLedgerJdbcUrlSelectsPostgresql() {
        assertThat(db.postgres()).isTrue();
        assertThat(db.safeUrl()).startsWith("jdbc:postgresql://");
    }
}
