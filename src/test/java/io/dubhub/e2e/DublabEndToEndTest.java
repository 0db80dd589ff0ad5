package io.dubhub.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.sandbox.DublabSimulator;
import io.dubhub.testing.Drops;
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

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/**
 * The foundation, end to end on the dublab simulator: a file dropped in data/inbox/dublab/ is
 * dubbed and delivered to data/outbox/<stem>/ with a manifest, or fails with an error.json.
 */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
class DublabEndToEndTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Inject
    DublabSimulator sim;

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

    Path inbox() {
        return data().resolve("inbox/dublab");
    }

    JsonNode awaitManifest(String stem) {
        Path manifest = data().resolve("outbox").resolve(stem).resolve("job.json");
        await().atMost(WAIT).until(() -> Files.exists(manifest));
        try {
            return json.readTree(manifest.toFile());
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    JsonNode awaitError(String name) {
        Path error = data().resolve("failed/dublab").resolve(name + ".error.json");
        await().atMost(WAIT).until(() -> Files.exists(error));
        try {
            return json.readTree(error.toFile());
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void droppedVideoIsDubbedIntoEveryLanguageAndDeliveredWithAManifest() throws Exception {
        Drops.sidecar(inbox(), "talk.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"de\"]}");
        Path source = Drops.video(inbox(), "talk.mp4", Duration.ofSeconds(95));
        String sourceSha = Drops.sha256(source);

        JsonNode manifest = awaitManifest("talk");

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(manifest.get("provider").asText()).isEqualTo("dublab");
        assertThat(manifest.at("/source/sha256").asText()).isEqualTo(sourceSha);
        assertThat(manifest.at("/source/media/durationSeconds").asDouble()).isEqualTo(95.0);
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
        assertThat(paths).contains("es/talk.es.mp4", "es/talk.es.mp3", "es/talk.es.srt", "es/talk.es.poster.jpg",
                "de/talk.de.mp4", "de/talk.de.mp3", "de/talk.de.srt", "en/talk.en.srt");
        // the dubbed video of the simulator is the uploaded bytes: proves the upload arrived whole
        assertThat(Drops.sha256(data().resolve("outbox/talk/es/talk.es.mp4"))).isEqualTo(sourceSha);
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(data().resolve("done/dublab/talk.mp4")));
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(data().resolve("done/dublab/talk.mp4.job.json")));
        assertThat(source).doesNotExist();
        assertThat(sim.calls("init-dub-group")).isEqualTo(1);
        assertThat(sim.calls("start-dub")).isEqualTo(2);

        String jobId = manifest.get("jobId").asText();
        given().get("/api/jobs/" + jobId).then().statusCode(200)
                .body("state", equalTo("delivered"))
                .body("languages.size()", equalTo(2))
                .body("outbox", equalTo("outbox/talk"));
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(metrics).contains("dubhub_jobs{provider=\"dublab\",state=\"delivered\"}")
                .contains("dubhub_bytes_moved_bytes_total{direction=\"upload\",provider=\"dublab\"}")
                .contains("dubhub_provider_call_seconds_count{operation=\"init-dub-group\",outcome=\"2xx\",provider=\"dublab\"}");
    }

    @Test
    void serverErrorsOnCreateAreRetriedAndTheGroupIsCreatedOnce() throws Exception {
        sim.failNextCalls("init-dub-group", 503, 2);
        Drops.sidecar(inbox(), "flaky.mp4", "{\"targetLanguages\":[\"es\",\"de\"]}");
        Drops.video(inbox(), "flaky.mp4", Duration.ofSeconds(30));
        JsonNode manifest = awaitManifest("flaky");
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(sim.calls("init-dub-group")).isEqualTo(3);
        assertThat(sim.projectCount()).isEqualTo(1);
        assertThat(manifest.get("events").toString()).contains("retrying in");
    }

    @Test
    void aStartWhoseAnswerWasLostIsLookedUpNotRepeated() throws Exception {
        sim.loseNextAnswer("start-dub");
        Drops.sidecar(inbox(), "lost.mp4", "{\"targetLanguages\":[\"es\",\"de\"]}");
        Drops.video(inbox(), "lost.mp4", Duration.ofSeconds(30));
        JsonNode manifest = awaitManifest("lost");
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        // two languages, two start-dub calls: the lost one was found started via GET /dubs
        assertThat(sim.calls("start-dub")).isEqualTo(2);
        assertThat(manifest.get("providerCalls").toString()).contains("start-dub");
    }

    @Test
    void oneLanguageIsCreatedWithInitDub() throws Exception {
        Drops.sidecar(inbox(), "solo.mp4", "{\"targetLanguages\":[\"fr\"]}");
        Drops.video(inbox(), "solo.mp4", Duration.ofSeconds(20));
        JsonNode manifest = awaitManifest("solo");
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(sim.calls("init-dub")).isEqualTo(1);
        assertThat(sim.calls("init-dub-group")).isZero();
    }

    @Test
    void sidecarWithUnknownKeyFailsBeforeAnyProviderCall() throws Exception {
        Drops.sidecar(inbox(), "typo.mp4", "{\"targetLanguage\":[\"es\"]}");
        Drops.video(inbox(), "typo.mp4", Duration.ofSeconds(30));
        JsonNode error = awaitError("typo.mp4");
        assertThat(error.get("stage").asText()).isEqualTo("spec");
        assertThat(error.get("reason").asText()).contains("unknown key 'targetLanguage'").contains("targetLanguages");
        assertThat(data().resolve("failed/dublab/typo.mp4")).exists();
        assertThat(data().resolve("failed/dublab/typo.mp4.job.json")).exists();
        assertThat(sim.calls("init-dub-group") + sim.calls("init-dub")).isZero();
    }

    @Test
    void sidecarWithWrongTypeOrBadLanguageNamesTheKey() throws Exception {
        Drops.sidecar(inbox(), "badtype.mp4", "{\"targetLanguages\":\"es\"}");
        Drops.video(inbox(), "badtype.mp4", Duration.ofSeconds(30));
        Drops.sidecar(inbox(), "badlang.mp4", "{\"targetLanguages\":[\"pt_BR\"]}");
        Drops.video(inbox(), "badlang.mp4", Duration.ofSeconds(30));
        Drops.sidecar(inbox(), "unsupported.mp4", "{\"targetLanguages\":[\"sw\"]}");
        Drops.video(inbox(), "unsupported.mp4", Duration.ofSeconds(30));
        Drops.text(inbox(), "broken.mp4.job.json", "{\"targetLanguages\": [\"es\",");
        Drops.video(inbox(), "broken.mp4", Duration.ofSeconds(30));

        assertThat(awaitError("badtype.mp4").get("reason").asText()).contains("'targetLanguages' must be an array");
        assertThat(awaitError("badlang.mp4").get("reason").asText()).contains("'pt-BR'");
        JsonNode unsupported = awaitError("unsupported.mp4");
        assertThat(unsupported.get("stage").asText()).isEqualTo("validate");
        assertThat(unsupported.get("reason").asText()).contains("dublab does not offer target language(s) sw").contains("pt-BR");
        assertThat(awaitError("broken.mp4").get("reason").asText()).contains("not valid JSON");
        assertThat(sim.calls("init-dub-group") + sim.calls("init-dub")).isZero();
    }

    @Test
    void aFileThatIsNotAVideoFailsAtProbeWithoutProviderCall() throws Exception {
        Drops.text(inbox(), "notes.mp4", "these are meeting notes, not a video");
        JsonNode error = awaitError("notes.mp4");
        assertThat(error.get("stage").asText()).isEqualTo("probe");
        assertThat(error.get("reason").asText()).contains("not a video or audio file");
        assertThat(sim.calls("init-dub-group") + sim.calls("init-dub")).isZero();
    }

    @Test
    void outOfCreditsStopsTheJobWithoutRetryAndShowsInHealth() throws Exception {
        sim.setCredits(0);
        Drops.video(inbox(), "broke.mp4", Duration.ofSeconds(60));
        JsonNode error = awaitError("broke.mp4");
        assertThat(error.get("reason").asText()).contains("dublab: out of credits");
        // GET /me showed the balance too low: nothing was created, and nothing retried
        assertThat(error.get("reason").asText()).contains("needs ceil(1.00 min) × 1 language(s) = 1 credits").contains("has 0 left");
        assertThat(sim.calls("me")).isEqualTo(1);
        assertThat(sim.calls("init-dub")).isZero();
        assertThat(sim.projectCount()).isZero();
        given().get("/q/health/ready").then().statusCode(503)
                .body("checks.find { it.name == 'providers' }.data.dublab", containsString("out of credits"));

        // topping up and dropping again clears it
        sim.setCredits(10_000);
        Drops.video(inbox(), "after-topup.mp4", Duration.ofSeconds(60));
        awaitManifest("after-topup");
        given().get("/q/health/ready").then().statusCode(200);
    }

    @Test
    void aFailedDubFailsTheJobWithDublabsReason() throws Exception {
        sim.failLanguage("it", "Audio track is silent");
        Drops.sidecar(inbox(), "silent.mp4", "{\"targetLanguages\":[\"it\"]}");
        Drops.video(inbox(), "silent.mp4", Duration.ofSeconds(30));
        JsonNode error = awaitError("silent.mp4");
        assertThat(error.get("stage").asText()).isEqualTo("poll");
        assertThat(error.get("reason").asText()).contains("Audio track is silent");
    }

    @Test
    void twoLanguagesWithOneFailingDeliverTheOtherAndSayWhy() throws Exception {
        sim.failLanguage("ja", "Voice model unavailable");
        Drops.sidecar(inbox(), "half.mp4", "{\"targetLanguages\":[\"es\",\"ja\"]}");
        Drops.video(inbox(), "half.mp4", Duration.ofSeconds(30));
        JsonNode manifest = awaitManifest("half");
        assertThat(manifest.get("state").asText()).isEqualTo("partial");
        assertThat(manifest.at("/languages/es/state").asText()).isEqualTo("delivered");
        assertThat(manifest.at("/languages/ja/state").asText()).isEqualTo("failed");
        assertThat(manifest.at("/languages/ja/reason").asText()).contains("Voice model unavailable");
        assertThat(data().resolve("outbox/half/es/half.es.mp4")).exists();
        assertThat(data().resolve("outbox/half/ja")).doesNotExist();
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(data().resolve("done/dublab/half.mp4")));
    }

    @Test
    void anExpiredOutputLinkIsRefreshedFromDublab() throws Exception {
        sim.setProjectOutputLinkTtl(Duration.ofSeconds(-60));
        Drops.sidecar(inbox(), "late.mp4", "{\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox(), "late.mp4", Duration.ofSeconds(30));
        JsonNode manifest = awaitManifest("late");
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(manifest.get("events").toString()).contains("link expired, refreshed from dublab");
        assertThat(sim.calls("outputs")).isGreaterThanOrEqualTo(2);
    }

    @Test
    void theSameFileDroppedTwiceIsSubmittedOnce() throws Exception {
        Drops.sidecar(inbox(), "twice.mp4", "{\"targetLanguages\":[\"es\"]}");
        Path first = Drops.video(inbox(), "twice.mp4", Duration.ofSeconds(30));
        Path copy = Files.createTempFile("twice", ".mp4");
        Files.copy(first, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        awaitManifest("twice");
        assertThat(sim.calls("init-dub")).isEqualTo(1);

        Drops.moveIn(copy, inbox(), "twice.mp4");
        JsonNode error = awaitError("twice.mp4");
        assertThat(error.get("reason").asText()).contains("already dubbed").contains("nothing was paid twice");
        assertThat(sim.calls("init-dub")).isEqualTo(1);
        assertThat(sim.calls("start-dub")).isEqualTo(1);
    }

    @Test
    void partialAndHiddenFilesAreIgnored() throws Exception {
        Drops.text(inbox(), "upload.mp4.part", "half");
        Drops.text(inbox(), ".hidden.mp4", "x");
        Drops.text(inbox(), "download.mp4.crdownload", "x");
        Drops.video(inbox(), "marker.mp4", Duration.ofSeconds(10));
        awaitManifest("marker");
        assertThat(inbox().resolve("upload.mp4.part")).exists();
        assertThat(inbox().resolve(".hidden.mp4")).exists();
        assertThat(inbox().resolve("download.mp4.crdownload")).exists();
        assertThat(data().resolve("failed/dublab/upload.mp4.part.error.json")).doesNotExist();
    }
}
