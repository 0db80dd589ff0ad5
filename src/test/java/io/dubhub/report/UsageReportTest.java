package io.dubhub.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.sandbox.VugolaSimulator;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreeHttpPort;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Quartz usage report with a fast cron (every 2 s, read in Pacific/Kiritimati so the report's
 * date is visibly the zone's, not the machine's): after one Vugola job, the file and the gauges
 * show its job and its credits, and Vugola's own month figure.
 */
@QuarkusTest
@TestProfile(UsageReportTest.FastCron.class)
class UsageReportTest {

    static final String ZONE = "Pacific/Kiritimati";

    public static class FastCron implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hub.reports.cron", "0/2 * * * * ?", "hub.reports.timezone", ZONE);
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class), new TestResourceEntry(FreeHttpPort.class));
        }
    }

    @Inject
    VugolaSimulator sim;

    @Inject
    HubConfig config;

    final ObjectMapper json = new ObjectMapper();

    @Test
    void theCronWritesTheDaysReportWithJobsAndCreditsAndPublishesThem() throws Exception {
        sim.reset();
        sim.setRateWindow(config.providers().vugola().rateWindow());
        sim.setStageDuration(Duration.ofMillis(300));
        Path data = Path.of(config.dataDir());
        Drops.video(data.resolve("inbox/vugola"), "report.mp4", Duration.ofMinutes(7).plusSeconds(10));
        await().atMost(Duration.ofSeconds(90)).until(() -> Files.exists(data.resolve("outbox/report/job.json")));

        Path report = data.resolve("reports/" + LocalDate.now(ZoneId.of(ZONE)) + ".json");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
            if (!Files.exists(report)) {
                return false;
            }
            JsonNode r = json.readTree(report.toFile());
            return r.at("/jobs/vugola/delivered").asLong() == 1 && r.at("/creditsUsed/vugola").asDouble() == 8.0;
        });
        JsonNode r = json.readTree(report.toFile());
        System.out.println("Usage report: " + r);
        assertThat(r.get("timezone").asText()).isEqualTo(ZONE);
        assertThat(r.get("date").asText()).isEqualTo(LocalDate.now(ZoneId.of(ZONE)).toString());
        // max(1, ceil(7:10)) = 8 credits, as the ledger recorded them and as Vugola counts them this month
        assertThat(r.at("/vugola/credits_used_this_month").asLong()).isEqualTo(8);
        assertThat(r.at("/vugola/credits_remaining").asLong()).isEqualTo(VugolaSimulator.DEFAULT_CREDITS - 8);
        assertThat(r.at("/vugola/plan").asText()).isEqualTo("agency");
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(metrics).contains("dubhub_report_credits_used{provider=\"vugola\"} 8.0");
        assertThat(metrics).contains("dubhub_vugola_credits{figure=\"credits_used_this_month\"} 8.0");
        assertThat(metrics).containsPattern("dubhub_jobs\\{provider=\"vugola\",state=\"delivered\"\\} 1.0");
    }
}
