package io.dubhub.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.sandbox.DublabSimulator;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/** A dub still running after its deadline is reported stuck, keeps being polled, and is delivered when it ends. */
@QuarkusTest
@TestProfile(StuckJobTest.Profile.class)
class StuckJobTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hub.providers.dublab.poll-deadline", "2s");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class));
        }
    }

    @Inject
    HubConfig config;

    @Inject
    DublabSimulator sim;

    @Test
    void aJobPastItsDeadlineIsReportedStuckAndStillDelivered() throws Exception {
        sim.reset();
        sim.setStageDuration(Duration.ofSeconds(5));
        Drops.sidecar(Path.of(config.dataDir(), "inbox/dublab"), "slow.mp4", "{\"targetLanguages\":[\"es\"]}");
        Drops.video(Path.of(config.dataDir(), "inbox/dublab"), "slow.mp4", Duration.ofSeconds(30));

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                given().get("/api/jobs?state=stuck").then().statusCode(200)
                        .body("[0].source", equalTo("slow.mp4"))
                        .body("[0].reason", containsString("still polling")));

        Path manifest = Path.of(config.dataDir(), "outbox/slow/job.json");
        await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(manifest));
        JsonNode m = new ObjectMapper().readTree(manifest.toFile());
        assertThat(m.get("state").asText()).isEqualTo("delivered");
        assertThat(m.get("events").toString()).contains("stuck: past its deadline");
    }
}
