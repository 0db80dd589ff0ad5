package io.dubhub.security;

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
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

/**
 * HUB_API_KEY guards /api/ (and only /api/); a provider whose API URL is plain http to a remote
 * host is disabled (its key would travel in clear), said in health, and its inbox is left alone.
 */
@QuarkusTest
@TestProfile(ApiKeyAndUrlPolicyTest.Profile.class)
class ApiKeyAndUrlPolicyTest {

    static final String KEY = "test-api-key-5b1c";

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hub.api-key", KEY,
                    "hub.providers.dublab.base-url", "http://dublab.example.com/api/v1");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class));
        }
    }

    @Inject
    HubConfig config;

    @Test
    void theApiNeedsTheKeyAsBearerOrHeader() {
        given().get("/api/jobs").then().statusCode(401)
                .header("WWW-Authenticate", containsString("Bearer"))
                .body("error", containsString("HUB_API_KEY"));
        given().header("Authorization", "Bearer wrong-key").get("/api/jobs").then().statusCode(401)
                .body("error", containsString("not this hub's"));
        given().header("X-Api-Key", KEY + "x").get("/api/jobs/anything").then().statusCode(401);
        given().header("Authorization", "Bearer " + KEY).get("/api/jobs").then().statusCode(200);
        given().header("X-Api-Key", KEY).get("/api/jobs/no-such-job").then().statusCode(404);
        // the answer to a refused request never echoes a key back
        given().header("X-Api-Key", "guess").get("/api/jobs").then().body(not(containsString(KEY)));
    }

    @Test
    void healthAndMetricsStayOpenForProbes() {
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(200);
    }

    @Test
    void aProviderOnPlainHttpToARemoteHostIsDisabledAndItsFilesWait() throws Exception {
        given().get("/q/health/ready").then()
                .body("checks.find { it.name == 'providers' }.data.dublab",
                        containsString("HUB_PROVIDERS_DUBLAB_BASE_URL must be an https URL"));
        Path inbox = Path.of(config.dataDir(), "inbox/dublab");
        Path source = Drops.video(inbox, "kept.mp4", Duration.ofSeconds(5));
        Thread.sleep(4_000);
        assertThat(source).exists();
        given().header("X-Api-Key", KEY).get("/api/jobs?provider=dublab").then().statusCode(200).body("size()", equalTo(0));
    }
}
