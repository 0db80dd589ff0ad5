package io.dubhub.e2e;

import io.dubhub.config.HubConfig;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/** A key dublab refuses flags the provider in health and keeps the job (and its file) waiting. */
@QuarkusTest
@TestProfile(MisconfiguredDublabTest.Profile.class)
class MisconfiguredDublabTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hub.providers.dublab.api-key", "not-the-right-key");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class));
        }
    }

    @Inject
    HubConfig config;

    @Test
    void refusedCredentialsMarkDublabMisconfiguredAndKeepTheSource() throws Exception {
        Path inbox = Path.of(config.dataDir(), "inbox/dublab");
        Path source = Drops.video(inbox, "waiting.mp4", Duration.ofSeconds(30));

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                given().get("/q/health/ready").then().statusCode(503)
                        .body("checks.find { it.name == 'providers' }.data.dublab", containsString("misconfigured")));
        given().get("/q/health/ready").then()
                .body("checks.find { it.name == 'providers' }.data.dublab", containsString("refused our credentials"));
        given().get("/api/jobs?provider=dublab").then().statusCode(200)
                .body("[0].source", equalTo("waiting.mp4"))
                .body("[0].state", equalTo("submitting"))
                .body("[0].reason", containsString("check the API key"));
        assertThat(source).exists();
        assertThat(Path.of(config.dataDir(), "failed/dublab/waiting.mp4.error.json")).doesNotExist();
    }
}
