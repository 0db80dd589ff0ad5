package io.dubhub.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.sandbox.PersoSimulator;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreeHttpPort;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;

/**
 * Perso end to end on the simulator: drop → space → SAS → blob PUT → register → queue →
 * translate → progress (never faster than every 5 s, although the test config asks for 1 s) →
 * download-info/download → outbox with manifest.
 */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = FreeHttpPort.class, restrictToAnnotatedClass = true)
class PersoEndToEndTest {

    private static final Duration WAIT = Duration.ofSeconds(90);

    @Inject
    PersoSimulator sim;

    @Inject
    HubConfig config;

    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void resetSimulator() {
        sim.reset();
        sim.setStageDuration(Duration.ofMillis(200));
    }

    Path data() {
        return Path.of(config.dataDir());
    }

    Path inbox() {
        return data().resolve("inbox/perso");
    }

    JsonNode awaitJson(Path file) throws Exception {
        await().atMost(WAIT).until(() -> Files.exists(file));
        return json.readTree(file.toFile());
    }

    @Test
    void droppedVideoIsDubbedDeliveredAndPolledNoFasterThanEveryFiveSeconds() throws Exception {
        // 5 stages of 2 s: a project runs ~10 s, so each is polled at least twice
        sim.setStageDuration(Duration.ofSeconds(2));
        Drops.sidecar(inbox(), "talk.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"de\"]}");
        Path source = Drops.video(inbox(), "talk.mp4", Duration.ofSeconds(30));
        String sourceSha = Drops.sha256(source);

        JsonNode manifest = awaitJson(data().resolve("outbox/talk/job.json"));

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(manifest.get("provider").asText()).isEqualTo("perso");
        assertThat(manifest.at("/source/sha256").asText()).isEqualTo(sourceSha);
        assertThat(manifest.at("/languages/es/state").asText()).isEqualTo("delivered");
        assertThat(manifest.at("/languages/de/state").asText()).isEqualTo("delivered");
        List<String> paths = new ArrayList<>();
        for (JsonNode o : manifest.get("outputs")) {
            Path file = data().resolve("outbox/talk").resolve(o.get("path").asText());
            assertThat(file).exists();
            assertThat(Files.size(file)).isEqualTo(o.get("bytes").asLong());
            assertThat(Drops.sha256(file)).isEqualTo(o.get("sha256").asText());
            paths.add(o.get("path").asText());
        }
        assertThat(paths).contains("es/talk.es.mp4", "es/talk.es.srt", "es/talk.es.voice.mp3", "es/talk.es.background.mp3",
                "de/talk.de.mp4", "de/talk.de.srt", "en/talk.en.srt", "en/talk.en.voice.mp3");
        // the simulator's dubbed video is the uploaded blob: the upload arrived whole
        assertThat(Drops.sha256(data().resolve("outbox/talk/es/talk.es.mp4"))).isEqualTo(sourceSha);
        assertThat(Files.readString(data().resolve("outbox/talk/de/talk.de.srt"))).contains("[de]");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(data().resolve("done/perso/talk.mp4")));
        assertThat(source).doesNotExist();
        assertThat(sim.calls("translate")).isEqualTo(1);
        assertThat(sim.calls("queue")).isLessThanOrEqualTo(1); // once per space and process: earlier tests may have done it
        assertThat(sim.calls("put-blob")).isEqualTo(1);
        assertThat(sim.projectCount()).isEqualTo(2);

        // poll spacing per project, from the simulator's own request log
        Map<String, List<Long>> progressTimes = sim.requests().stream()
                .filter(r -> r.operation().equals("progress"))
                .collect(Collectors.groupingBy(PersoSimulator.Request::path, Collectors.mapping(PersoSimulator.Request::at, Collectors.toList())));
        assertThat(progressTimes).hasSize(2);
        long smallest = Long.MAX_VALUE;
        for (List<Long> times : progressTimes.values()) {
            assertThat(times.size()).isGreaterThanOrEqualTo(2);
            for (int i = 1; i < times.size(); i++) {
                smallest = Math.min(smallest, times.get(i) - times.get(i - 1));
            }
        }
        System.out.println("Perso poll spacing: smallest gap between two progress calls of one project = " + smallest + " ms, calls "
                + progressTimes.values().stream().map(List::size).toList());
        assertThat(smallest).isGreaterThanOrEqualTo(5000);
        // no request to the blob storage carried the API key (the simulator would have answered 400)
        assertThat(sim.requests().stream().filter(r -> r.operation().startsWith("put-")).allMatch(r -> r.status() == 201)).isTrue();
    }

    @Test
    void aTranslateWhoseAnswerIsLostIsFoundByTitleAndNotTranslatedAgain() throws Exception {
        sim.loseNextAnswer("translate");
        Drops.sidecar(inbox(), "lost.mp4", "{\"targetLanguages\":[\"fr\"]}");
        Drops.video(inbox(), "lost.mp4", Duration.ofSeconds(20));
        JsonNode manifest = awaitJson(data().resolve("outbox/lost/job.json"));
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(sim.calls("translate")).isEqualTo(1);
        assertThat(sim.calls("list-projects")).isGreaterThanOrEqualTo(1);
        assertThat(sim.projectCount()).isEqualTo(1);
        assertThat(manifest.get("events").toString()).contains("not translating again");
        assertThat(data().resolve("outbox/lost/fr/lost.fr.mp4")).exists();
        // source language was not given: the original-side outputs are filed under "original"
        assertThat(data().resolve("outbox/lost/original/lost.original.srt")).exists();
    }

    @Test
    void tooLittleQuotaStopsTheJobBeforeAnythingIsUploadedAndShowsInHealth() throws Exception {
        sim.setCredits(1); // a 20 s video to 2 languages: Perso's estimate is 2
        Drops.sidecar(inbox(), "broke.mp4", "{\"targetLanguages\":[\"es\",\"de\"]}");
        Drops.video(inbox(), "broke.mp4", Duration.ofSeconds(20));
        JsonNode error = awaitJson(data().resolve("failed/perso/broke.mp4.error.json"));
        assertThat(error.get("reason").asText()).contains("out of quota").contains("needs 2").contains("has 1 left")
                .contains("nothing was uploaded");
        assertThat(sim.calls("plan-status")).isEqualTo(1);
        assertThat(sim.calls("estimate-quota")).isEqualTo(1);
        assertThat(sim.calls("sas-token")).isZero();
        assertThat(sim.calls("put-blob")).isZero();
        assertThat(sim.calls("translate")).isZero();
        assertThat(sim.credits()).as("nothing spent").isEqualTo(1);
        given().get("/q/health/ready").then().statusCode(503)
                .body("checks.find { it.name == 'providers' }.data.perso", containsString("out of credits"));
        sim.setCredits(10_000);
    }

    @Test
    void insufficientCreditsAtTranslateStopsTheJobWithoutRetry() throws Exception {
        // the quota check passed, then another client spent the quota before our translate (VT4021)
        sim.failNext("translate", 402, "VT4021", "Insufficient credits", 1);
        Drops.sidecar(inbox(), "raced.mp4", "{\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox(), "raced.mp4", Duration.ofSeconds(20));
        JsonNode error = awaitJson(data().resolve("failed/perso/raced.mp4.error.json"));
        assertThat(error.get("reason").asText()).contains("out of credits").contains("VT4021");
        assertThat(sim.calls("translate")).isEqualTo(1);
        assertThat(sim.projectCount()).isZero();
    }

    @Test
    void aSpaceWithoutQueueIsInitialisedAndTheTranslateRetriedOnce() throws Exception {
        // a brand-new space on Perso's side, although this hub process initialised the queue before
        sim.dropQueues();
        Drops.sidecar(inbox(), "queue.mp4", "{\"targetLanguages\":[\"ja\"]}");
        Drops.video(inbox(), "queue.mp4", Duration.ofSeconds(20));
        JsonNode manifest = awaitJson(data().resolve("outbox/queue/job.json"));
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(sim.calls("translate")).isEqualTo(2);
        assertThat(sim.projectCount()).isEqualTo(1);
        assertThat(manifest.get("events").toString()).contains("no queue yet");
        assertThat(sim.queueInitialised(PersoSimulator.SPACE_SEQ)).isTrue();
    }

    @Test
    void anExpiredSasIsAskedForAgain() throws Exception {
        sim.setSasTtl(Duration.ofSeconds(-60));
        Drops.sidecar(inbox(), "sas.mp4", "{\"targetLanguages\":[\"it\"]}");
        Drops.video(inbox(), "sas.mp4", Duration.ofSeconds(20));
        // every SAS is already expired: the uploader asks a bounded number of times, then the job retries later
        await().atMost(WAIT).until(() -> sim.calls("sas-token") >= 4);
        sim.setSasTtl(Duration.ofMinutes(30));
        JsonNode manifest = awaitJson(data().resolve("outbox/sas/job.json"));
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(sim.requests().stream().filter(r -> r.operation().equals("put-blob") && r.status() == 403).count()).isGreaterThanOrEqualTo(4);
    }
}
