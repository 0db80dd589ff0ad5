package io.dubhub.ledger;

import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@QuarkusTest
@TestProfile(LedgerOnH2Test.Profile.class)
class LedgerOnH2Test extends LedgerContract {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("camel.main.auto-startup", "false");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class));
        }
    }

    @Test
    void theDefaultLedgerIsAnH2FileUnderTheDataFolder() {
        assertThat(db.postgres()).isFalse();
        assertThat(db.safeUrl()).startsWith("jdbc:h2:file:").contains("/ledger/dubhub");
    }
}
