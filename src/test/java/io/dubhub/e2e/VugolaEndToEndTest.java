package io.dubhub.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.sandbox.VugolaSimulator;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreeHttpPort;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Vugola end to end on the simulator: staged source fetched by the simulator, credits first,
 * the ledger's rate gate (5 create requests per window, 3 jobs running; the window is scaled to
 * 6 s in the test profile, the limits are the production ones), duplicate-safe replays, clips
 * with their metadata in the manifest, scheduled posts and their cancellation.
 */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = FreeHttpPort.class, restrictToAnnotatedClass = true)
class VugolaEndToEndTest {

    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final Duration SIX_MINUTES = Duration.ofMinutes(6);

    @Inject
    VugolaSimulator sim;

    @Inject
    HubConfig config;

    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void resetSimulator() {
        sim.reset();
        sim.setRateWindow(config.providers().vugola().rateWindow());
        sim.setStageDuration(Duration.ofMillis(500));
    }

    Path data() {
        return Path.of(config.dataDir());
    }

    Path inbox() {
        return data().resolve("inbox/vugola");
    }

    JsonNode awaitJson(Path file) throws Exception {
        await().atMost(WAIT).until(() -> Files.exists(file));
        return json.readTree(file.toFile());
    }

    List<VugolaSimulator.Request> creates() {
        return sim.requests().stream().filter(r -> r.operation().equals("clip") || r.operation().equals("caption")).toList();
    }

    @Test
    void eightFilesDroppedAtOnceNeverExceedThreeRunningOrFivePerWindowAndAllAreDelivered() throws Exception {
        long window = config.providers().vugola().rateWindow().toMillis();
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= 8; i++) {
            names.add("batch" + i);
        }
        for (String n : names) {
            Drops.video(inbox(), n + ".mp4", SIX_MINUTES);
        }
        // watch the job API while they run: a held-back job must say what it waits for
        Set<String> reasonsSeen = new HashSet<>();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() -> {
            JsonPath jobs = given().queryParam("provider", "vugola").get("/api/jobs").then().statusCode(200).extract().jsonPath();
            for (Object r : jobs.getList("reason")) {
                if (r != null) {
                    reasonsSeen.add(r.toString());
                }
            }
            return names.stream().allMatch(n -> Files.exists(data().resolve("outbox/" + n + "/job.json")));
        });

        for (String n : names) {
            JsonNode manifest = json.readTree(data().resolve("outbox/" + n + "/job.json").toFile());
            assertThat(manifest.get("state").asText()).as(n).isEqualTo("delivered");
            assertThat(manifest.get("outputs")).hasSize(3);
            for (JsonNode o : manifest.get("outputs")) {
                Path file = data().resolve("outbox/" + n).resolve(o.get("path").asText());
                assertThat(Files.size(file)).isEqualTo(o.get("bytes").asLong());
                assertThat(Drops.sha256(file)).isEqualTo(o.get("sha256").asText());
                assertThat(o.at("/metadata/title").asText()).startsWith("Moment ");
                assertThat(o.at("/metadata/durationSeconds").asDouble()).isGreaterThan(20);
                assertThat(o.at("/metadata/viralityScore").asDouble()).isBetween(0.0, 1.0);
            }
            assertThat(manifest.get("credits").asDouble()).isEqualTo(6.0);
        }
        assertThat(sim.jobCount()).isEqualTo(8);

        // the simulator's own clock: no six accepted create requests inside one window...
        List<Long> accepted = creates().stream().filter(r -> r.status() == 202).map(VugolaSimulator.Request::at).sorted().toList();
        assertThat(accepted).hasSize(8);
        long tightest = Long.MAX_VALUE;
        for (int i = 0; i + 5 < accepted.size(); i++) {
            tightest = Math.min(tightest, accepted.get(i + 5) - accepted.get(i));
        }
        System.out.println("Vugola gate: 8 jobs; tightest span of 6 consecutive create requests = " + tightest + " ms (window " + window
                + " ms); create request times (ms from first) = " + accepted.stream().map(t -> t - accepted.get(0)).toList());
        assertThat(tightest).isGreaterThanOrEqualTo(window);
        // ...never more than three processing at once...
        int most = 0;
        for (VugolaSimulator.JobSpan a : sim.jobSpans()) {
            int overlapping = 0;
            for (VugolaSimulator.JobSpan b : sim.jobSpans()) {
                if (b.createdAt() <= a.createdAt() && a.createdAt() < b.endsAt()) {
                    overlapping++;
                }
            }
            most = Math.max(most, overlapping);
        }
        System.out.println("Vugola gate: most jobs processing at once = " + most + "; reasons seen: " + reasonsSeen);
        assertThat(most).isLessThanOrEqualTo(3);
        // ...and it was the hub's gate that held them back, not the simulator's 429s
        assertThat(creates()).allMatch(r -> r.status() != 429);
        assertThat(reasonsSeen).anyMatch(r -> r.startsWith("waiting for Vugola rate limit"));
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(metrics).containsPattern("dubhub_rate_gate_waits_total\\{[^}]*provider=\"vugola\"[^}]*\\} [1-9]");
    }

    @Test
    void aPostAnswered500AfterTheJobWasCreatedIsNotSubmittedTwice() throws Exception {
        long before = sim.credits();
        sim.failAfterCreate(1);
        Drops.video(inbox(), "lost.mp4", SIX_MINUTES);
        JsonNode manifest = awaitJson(data().resolve("outbox/lost/job.json"));
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(sim.jobCount()).isEqualTo(1);
        assertThat(creates()).extracting(VugolaSimulator.Request::status).containsExactly(500, 202);
        assertThat(manifest.get("events").toString()).contains("duplicate: true");
        assertThat(sim.credits()).isEqualTo(before - 6);
    }

    @Test
    void aJobCostingMoreCreditsThanRemainIsRefusedBeforeSubmission() throws Exception {
        sim.setCredits(4);
        Drops.video(inbox(), "broke.mp4", Duration.ofMinutes(5).plusSeconds(30));
        JsonNode error = awaitJson(data().resolve("failed/vugola/broke.mp4.error.json"));
        assertThat(error.get("reason").asText()).contains("max(1, ceil(5.50 min)) = 6").contains("has 4 left").contains("nothing was submitted");
        assertThat(creates()).isEmpty();
        assertThat(sim.requests()).extracting(VugolaSimulator.Request::operation).containsExactly("status");
        assertThat(sim.jobCount()).isZero();
    }

    @Test
    void captionsOfAVideoLongerThanFiveMinutesAreRefusedBeforeAnyCall() throws Exception {
        Drops.sidecar(inbox(), "long.mp4", "{\"targetLanguages\":[\"en\"],\"options\":{\"mode\":\"caption\"}}");
        Drops.video(inbox(), "long.mp4", SIX_MINUTES);
        JsonNode error = awaitJson(data().resolve("failed/vugola/long.mp4.error.json"));
        assertThat(error.get("reason").asText()).contains("6:00 long").contains("at most 5:00");
        assertThat(sim.requests()).isEmpty();
    }

    @Test
    void aShortVideoIsCaptionedAndTheOlderAuthenticatedLinkIsFetchedWithTheKey() throws Exception {
        sim.setLegacyLinks(true);
        Drops.sidecar(inbox(), "short.mp4", "{\"targetLanguages\":[\"en\"],\"options\":{\"mode\":\"caption\",\"captionStyle\":\"hormozi\","
                + "\"captionColor\":\"#FFE600\"}}");
        Path source = Drops.video(inbox(), "short.mp4", Duration.ofMinutes(2));
        String sha = Drops.sha256(source);
        JsonNode manifest = awaitJson(data().resolve("outbox/short/job.json"));
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(manifest.get("outputs")).hasSize(1);
        assertThat(manifest.at("/outputs/0/type").asText()).isEqualTo("captioned");
        assertThat(manifest.at("/outputs/0/metadata/title").asText()).isEqualTo("Captioned video");
        // the simulator "captions" by handing back what it fetched from the staged URL: it arrived whole
        assertThat(Drops.sha256(data().resolve("outbox/short").resolve(manifest.at("/outputs/0/path").asText()))).isEqualTo(sha);
        assertThat(sim.requests()).anyMatch(r -> r.operation().equals("download") && r.status() == 200);
        assertThat(manifest.get("credits").asDouble()).isEqualTo(2.0);
        // the job API shows the same metadata as JSON, not as a string
        JsonPath job = given().get("/api/jobs/" + manifest.get("jobId").asText()).then().statusCode(200).extract().jsonPath();
        assertThat(job.getString("outputs[0].metadata.title")).isEqualTo("Captioned video");
        assertThat(job.getDouble("outputs[0].metadata.durationSeconds")).isEqualTo(120.0);
    }

    @Test
    void noSpeechDetectedFailsTheJobWithAClearReason() throws Exception {
        sim.failNextJob("no_speech_detected");
        Drops.sidecar(inbox(), "silent.mp4", "{\"targetLanguages\":[\"en\"],\"options\":{\"mode\":\"caption\"}}");
        Drops.video(inbox(), "silent.mp4", Duration.ofMinutes(1));
        JsonNode error = awaitJson(data().resolve("failed/vugola/silent.mp4.error.json"));
        assertThat(error.get("reason").asText()).contains("no_speech_detected").contains("no speech").contains("refunded");
    }

    @Test
    void aRateLimitAnswerWaitsForRetryAfterWithoutSpendingAttempts() throws Exception {
        sim.tooManyRequestsNext(1, 2);
        Drops.video(inbox(), "slow.mp4", SIX_MINUTES);
        JsonNode manifest = awaitJson(data().resolve("outbox/slow/job.json"));
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        List<VugolaSimulator.Request> creates = creates();
        assertThat(creates).extracting(VugolaSimulator.Request::status).containsExactly(429, 202);
        assertThat(creates.get(1).at() - creates.get(0).at()).isGreaterThanOrEqualTo(2000);
        assertThat(manifest.get("events").toString()).contains("waiting for Vugola rate limit: Vugola answered 429");
        assertThat(manifest.get("events").toString()).doesNotContain("attempt 1 failed");
    }

    @Test
    void aScheduleIsPostedForEveryClipAndCanBeCancelledThroughTheJobApi() throws Exception {
        String at = Instant.now().plus(2, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS).toString();
        Drops.sidecar(inbox(), "promo.mp4", "{\"targetLanguages\":[\"en\"],\"options\":{\"schedule\":{\"platforms\":[\"tiktok\",\"x\"],"
                + "\"caption\":\"New talk is out\",\"at\":\"" + at + "\"}}}");
        Drops.video(inbox(), "promo.mp4", SIX_MINUTES);
        JsonNode manifest = awaitJson(data().resolve("outbox/promo/job.json"));
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        List<Map<String, Object>> posts = sim.scheduledPosts();
        assertThat(posts).hasSize(6);
        assertThat(posts).allMatch(p -> p.get("caption").equals("New talk is out") && p.get("status").equals("scheduled")
                && Instant.parse((String) p.get("scheduled_at")).equals(Instant.parse(at)));
        assertThat(posts).filteredOn(p -> p.get("platform").equals("tiktok")).allMatch(p -> p.get("media_url") != null);
        for (JsonNode o : manifest.get("outputs")) {
            assertThat(o.at("/metadata/scheduledPosts")).hasSize(2);
            assertThat(o.at("/metadata/scheduledPosts/0/postId").asText()).isNotBlank();
        }
        assertThat(manifest.get("providerCalls").toString()).contains("schedule-post").contains("1:tiktok");
        assertThat(sim.requests()).filteredOn(r -> r.operation().equals("schedule")).hasSize(1);

        String jobId = manifest.get("jobId").asText();
        JsonPath cancelled = given().delete("/api/jobs/" + jobId + "/schedule").then().statusCode(200).extract().jsonPath();
        assertThat(cancelled.getList("posts.result")).hasSize(6).allMatch(r -> r.equals("cancelled"));
        assertThat(sim.scheduledPosts()).allMatch(p -> p.get("status").equals("cancelled"));
        JsonPath listed = given().queryParam("live", true).get("/api/jobs/" + jobId + "/schedule").then().statusCode(200).extract().jsonPath();
        assertThat(listed.getList("posts.status")).hasSize(6).allMatch(s -> s.equals("cancelled"));
    }

    @Test
    void aBadScheduleIsRefusedBeforeAnyCall() throws Exception {
        Drops.sidecar(inbox(), "badpost.mp4", "{\"targetLanguages\":[\"en\"],\"options\":{\"schedule\":{\"platforms\":[\"myspace\"],"
                + "\"caption\":\"hi\",\"at\":\"2099-01-01T00:00:00Z\"}}}");
        Drops.video(inbox(), "badpost.mp4", SIX_MINUTES);
        JsonNode error = awaitJson(data().resolve("failed/vugola/badpost.mp4.error.json"));
        assertThat(error.get("reason").asText()).contains("does not post to 'myspace'").contains("tiktok");

        Drops.sidecar(inbox(), "pastpost.mp4", "{\"targetLanguages\":[\"en\"],\"options\":{\"schedule\":{\"platforms\":[\"x\"],"
                + "\"caption\":\"hi\",\"at\":\"2020-01-01T00:00:00Z\"}}}");
        Drops.video(inbox(), "pastpost.mp4", SIX_MINUTES);
        JsonNode past = awaitJson(data().resolve("failed/vugola/pastpost.mp4.error.json"));
        assertThat(past.get("reason").asText()).contains("not in the future");

        Drops.sidecar(inbox(), "longpost.mp4", "{\"targetLanguages\":[\"en\"],\"options\":{\"schedule\":{\"platforms\":[\"x\"],"
                + "\"caption\":\"" + "a".repeat(5001) + "\",\"at\":\"2099-01-01T00:00:00Z\"}}}");
        Drops.video(inbox(), "longpost.mp4", SIX_MINUTES);
        JsonNode tooLong = awaitJson(data().resolve("failed/vugola/longpost.mp4.error.json"));
        assertThat(tooLong.get("reason").asText()).contains("5001 characters").contains("at most 5000");
        assertThat(sim.requests()).isEmpty();
    }
}
