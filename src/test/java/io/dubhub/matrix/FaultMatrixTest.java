package io.dubhub.matrix;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.sandbox.DublabSimulator;
import io.dubhub.sandbox.SandboxStorage;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.dubhub.testing.Tmpfs;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/**
 * Network and provider faults on the dublab simulator, each injected into one job: the job ends
 * delivered (a retry, never a hang), the outputs match the manifest, and dublab created and
 * started each dub once. Other faults live with their provider's tests: 402 (DublabEndToEndTest,
 * SpeechLab), 401 after token expiry (SpeechLabEndToEndTest), lost answers (every provider),
 * expired links, 429 with Retry-After (VugolaEndToEndTest), a status that never ends (StuckJobTest).
 */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
class FaultMatrixTest {

    private static final Duration WAIT = Duration.ofSeconds(90);

    @Inject
    DublabSimulator sim;

    @Inject
    SandboxStorage storage;

    @Inject
    HubConfig config;

    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void resetSimulator() {
        sim.reset();
        sim.setStageDuration(Duration.ofMillis(300));
    }

    Path data() {
        return Path.of(config.dataDir());
    }

    /** Drops a 2-language job, waits for its manifest, checks it is delivered and every output matches. */
    JsonNode deliveredWithCheckedOutputs(String stem) throws Exception {
        Path inbox = data().resolve("inbox/dublab");
        Drops.sidecar(inbox, stem + ".mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"de\"]}");
        Path source = Drops.video(inbox, stem + ".mp4", Duration.ofSeconds(20));
        String sourceSha = Drops.sha256(source);
        Path manifestFile = data().resolve("outbox").resolve(stem).resolve("job.json");
        await().atMost(WAIT).until(() -> Files.exists(manifestFile));
        JsonNode manifest = json.readTree(manifestFile.toFile());
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        for (JsonNode o : manifest.get("outputs")) {
            Path file = data().resolve("outbox").resolve(stem).resolve(o.get("path").asText());
            assertThat(Files.size(file)).isEqualTo(o.get("bytes").asLong());
            assertThat(Drops.sha256(file)).isEqualTo(o.get("sha256").asText());
        }
        assertThat(Drops.sha256(data().resolve("outbox").resolve(stem).resolve("es").resolve(stem + ".es.mp4"))).isEqualTo(sourceSha);
        assertThat(sim.projectCount()).as("one dublab project").isEqualTo(1);
        return manifest;
    }

    @Test
    void aConnectionResetOnCreateIsRetriedAndCreatesOnce() throws Exception {
        sim.injectFault("init-dub-group", "reset", 1);
        deliveredWithCheckedOutputs("reset");
        assertThat(sim.calls("init-dub-group:reset")).isEqualTo(1);
        assertThat(sim.calls("start-dub")).isEqualTo(2);
    }

    @Test
    void malformedAnswersWhilePollingAreRetried() throws Exception {
        sim.injectFault("dubs", "malformed", 2);
        JsonNode manifest = deliveredWithCheckedOutputs("malformed");
        assertThat(sim.calls("dubs:malformed")).isEqualTo(2);
        String jobId = manifest.get("jobId").asText();
        assertThat(given().get("/api/jobs/" + jobId).then().statusCode(200).extract().asString()).contains("delivered");
    }

    @Test
    void aBurstOf5xxWhilePollingIsRidOut() throws Exception {
        sim.failNextCalls("dubs", 503, 5);
        deliveredWithCheckedOutputs("burst");
        assertThat(sim.calls("start-dub")).isEqualTo(2);
    }

    @Test
    void tooManyRequestsOnStartIsRetriedAndStartsEachDubOnce() throws Exception {
        sim.failNextCalls("start-dub", 429, 1);
        deliveredWithCheckedOutputs("throttled");
        // one refused call, then one start per language
        assertThat(sim.calls("start-dub")).isEqualTo(3);
    }

    @Test
    void aDownloadCutOffHalfwayIsFetchedAgainWhole() throws Exception {
        int before = storage.truncatedGets();
        storage.truncateNextGet("dublab/");
        JsonNode manifest = deliveredWithCheckedOutputs("truncated");
        assertThat(storage.truncatedGets() - before).as("one download was cut off").isEqualTo(1);
        assertThat(manifest.get("outputs").size()).isGreaterThanOrEqualTo(6);
        assertThat(data().resolve(".work").resolve(manifest.get("jobId").asText())).doesNotExist();
    }

    @Test
    void aCallThatIsCarriedOutButNeverAnsweredTimesOutAndIsNotRepeated() throws Exception {
        // dublab starts the dub, then its answer never comes: the call timeout ends the wait (test profile: 5 s),
        // and the retry finds the dub already started instead of starting it again
        sim.injectFault("start-dub", "hang", 1);
        JsonNode manifest = deliveredWithCheckedOutputs("unanswered");
        assertThat(sim.calls("start-dub:hang")).isEqualTo(1);
        assertThat(sim.calls("start-dub")).as("one start per language, the unanswered one included").isEqualTo(2);
        assertThat(manifest.get("events").toString()).contains("did not answer start-dub within 5 s (HUB_HTTP_CALL_TIMEOUT)");
    }

    /** A download that stalls (broken off by the idle timeout) or arrives damaged (caught by its Content-MD5) is fetched again. */
    @ParameterizedTest
    @CsvSource({
            "STALL,   stalled, no byte moved for 5 s (HUB_HTTP_IDLE_TIMEOUT)",
            // one byte flipped under the Content-MD5 of the true bytes, as a bad proxy or NIC would
            "CORRUPT, damaged, arrived damaged (the bytes' MD5 is"})
    void aDownloadThatStallsOrArrivesDamagedIsFetchedAgain(SandboxStorage.GetFault fault, String stem, String event) throws Exception {
        int before = storage.faultedGets(fault);
        storage.failNextGet("dublab/", fault);
        JsonNode manifest = deliveredWithCheckedOutputs(stem);
        assertThat(storage.faultedGets(fault) - before).as("one download went wrong").isEqualTo(1);
        assertThat(manifest.get("events").toString()).contains(event);
    }

    @Test
    void aFullDiskHoldsTheJobWithoutSpendingItsAttemptsUntilThereIsRoom() throws Exception {
        // outputs are downloaded into data/.work: put a 16 KiB disk there, smaller than the 64 KiB dubbed video
        try (Tmpfs disk = Tmpfs.mount(data().resolve(".work"), "16k")) {
            Path inbox = data().resolve("inbox/dublab");
            Drops.sidecar(inbox, "full.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
            Path source = Drops.video(inbox, "full.mp4", Duration.ofSeconds(20));
            String sourceSha = Drops.sha256(source);
            await().atMost(WAIT).untilAsserted(() -> given().get("/api/jobs?state=downloading").then().statusCode(200)
                    .body("find { it.source == 'full.mp4' }.reason", containsString("No space left on device")));
            String id = given().get("/api/jobs?state=downloading").then().extract().path("find { it.source == 'full.mp4' }.id");
            // several rechecks (every hub.poll.max-backoff, 2 s here), the disk still full: waiting, not failing
            await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(20)).untilAsserted(() -> given().get("/api/jobs/" + id).then()
                    .body("state", equalTo("downloading"))
                    .body("reason", containsString("the disk holding " + data().resolve(".work").toAbsolutePath()))
                    .body("reason", containsString("is full"))
                    .body("attempts", equalTo(0)));
            assertThat(source).as("the source stays where it was dropped").exists();

            disk.resize("64m");

            Path manifestFile = data().resolve("outbox/full/job.json");
            await().atMost(WAIT).until(() -> Files.exists(manifestFile));
            JsonNode manifest = json.readTree(manifestFile.toFile());
            assertThat(manifest.get("state").asText()).isEqualTo("delivered");
            assertThat(Drops.sha256(data().resolve("outbox/full/es/full.es.mp4"))).isEqualTo(sourceSha);
            assertThat(manifest.get("events").toString()).contains("No space left on device");
            assertThat(sim.calls("start-dub")).isEqualTo(1);
        }
    }
}
